"""Inline SVG charts: horizontal bars, 100% stacked bars and the cleaning funnel.

Charts are drawn here as SVG text so the report stays one self-contained file (no scripts, no
external images, nothing a Content-Security-Policy must allow). Every piece of text is escaped
before it goes into the markup. Colours come from one palette declared once, so a sector has the
same colour in every chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# One palette, declared once: loop items (sectors) first, then series for stacked categories.
SECTOR_COLOURS: dict[str | None, str] = {
    "education": "#1f5f8b",
    "social_care": "#b35c1e",
    "health_care": "#2e7d4f",
    "youth_justice": "#7a3b8f",
    "youth_sector": "#a8326e",
    "other_sectors": "#5d6b2f",
    "allied": "#455a64",
    None: "#1f5f8b",
}
SERIES_COLOURS = ("#1f5f8b", "#5b9bd5", "#c9c9c9", "#e8a33d", "#b35c1e", "#7f7f7f", "#2e7d4f")
WIDTH = 760
LABEL_W = 300
LINE_H = 16  # one line of label text
BAR_H = 16
ROW_GAP = 8
FONT = 13  # every text in a chart is at least SMALL px at the drawn width
SMALL = 12
CHAR_W = 0.56  # average glyph width in em for the system sans-serif stack (a safe over-estimate)
LABEL_CHARS = int((LABEL_W - 10) / (FONT * CHAR_W))
MIN_CONTRAST = 4.5  # WCAG AA for value labels drawn on a coloured segment


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # 0-100 for percentages, any scale for ratios
    text: str  # the value label printed beside the bar


def colour_for(group: str | None) -> str:
    return SECTOR_COLOURS.get(group, SECTOR_COLOURS[None])


def wrap(label: str, width: int = LABEL_CHARS, max_lines: int = 3) -> list[str]:
    """Break a label into lines at spaces so nothing is cut; a word longer than a line is
    split; only past ``max_lines`` is the rest shortened (the full text is in <title>)."""
    lines: list[str] = []
    current = ""
    for word in label.split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines or [""]


def _label(x: float, y: float, lines: list[str], full: str, anchor: str = "end") -> str:
    """Multi-line text, vertically centred on ``y``."""
    first = y - (len(lines) - 1) * LINE_H / 2
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{first + k * LINE_H + FONT * 0.35:.1f}">{escape(t)}</tspan>'
        for k, t in enumerate(lines)
    )
    return f'<text text-anchor="{anchor}" font-size="{FONT}"><title>{escape(full)}</title>{spans}</text>'


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill``."""
    return "#ffffff" if contrast(fill, "#ffffff") >= contrast(fill, "#000000") else "#000000"


def _text_w(text: str, size: int = FONT) -> float:
    return len(text) * size * CHAR_W


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    axis_label: str,
    colour: str,
    scale_max: float = 100.0,
    heading: str | None = None,
) -> Markup:
    """Horizontal bars with wrapped category labels, value labels and a labelled 0-max axis.

    ``heading`` is drawn above the bars, so panels of a grouped figure say which group they show.
    """
    plot_w = WIDTH - LABEL_W - 70
    top = 30 if heading else 8
    wrapped = [wrap(b.label) for b in bars]
    rows = [max(BAR_H, len(w) * LINE_H) + ROW_GAP for w in wrapped]
    height = top + sum(rows) + 48
    out = [_open(title, height)]
    if heading:
        out.append(
            f'<text x="0" y="18" font-size="{FONT + 1}" font-weight="bold" fill="{colour}">'
            f"{escape(heading)}</text>"
        )
    y = float(top)
    for bar, lines, row_h in zip(bars, wrapped, rows, strict=True):
        mid = y + (row_h - ROW_GAP) / 2
        length = 0.0 if bar.value is None else max(0.0, bar.value) / scale_max * plot_w
        out.append(
            _label(LABEL_W - 8, mid, lines, bar.label)
            + f'<rect x="{LABEL_W}" y="{mid - BAR_H / 2:.1f}" width="{length:.1f}" '
            f'height="{BAR_H}" fill="{colour}"/>'
            f'<text x="{LABEL_W + length + 5:.1f}" y="{mid + FONT * 0.35:.1f}" '
            f'font-size="{FONT}">{escape(bar.text)}</text>'
        )
        y += row_h
    out.append(_axis(int(y + 2), plot_w, scale_max, axis_label))
    out.append("</svg>")
    return Markup("".join(out))


def stacked_chart(
    groups: Sequence[tuple[str, Sequence[Bar]]], *, title: str, legend: Sequence[str]
) -> Markup:
    """100% stacked horizontal bars, one per group, segments in legend order, and a legend laid
    out in rows below the axis title so it can never overlap it. Value labels are drawn only
    where they fit, in black or white, whichever contrasts more with the segment."""
    plot_w = WIDTH - LABEL_W - 20
    wrapped = [wrap(label) for label, _ in groups]
    rows = [max(BAR_H + 6, len(w) * LINE_H) + ROW_GAP for w in wrapped]
    y = 8.0
    body = []
    for (label, segments), lines, row_h in zip(groups, wrapped, rows, strict=True):
        mid = y + (row_h - ROW_GAP) / 2
        h = BAR_H + 6
        body.append(_label(LABEL_W - 8, mid, lines, label))
        x = float(LABEL_W)
        for j, seg in enumerate(segments):
            w = 0.0 if seg.value is None else max(0.0, seg.value) / 100 * plot_w
            fill = SERIES_COLOURS[j % len(SERIES_COLOURS)]
            body.append(
                f'<rect x="{x:.1f}" y="{mid - h / 2:.1f}" width="{w:.1f}" height="{h}" '
                f'fill="{fill}"><title>{escape(seg.label)}: {escape(seg.text)}</title></rect>'
            )
            if w >= _text_w(seg.text, SMALL) + 6:
                body.append(
                    f'<text x="{x + w / 2:.1f}" y="{mid + SMALL * 0.35:.1f}" text-anchor="middle" '
                    f'font-size="{SMALL}" fill="{text_colour(fill)}">{escape(seg.text)}</text>'
                )
            x += w
        y += row_h
    axis_y = int(y + 2)
    body.append(_axis(axis_y, plot_w, 100.0, "Percentage of base (%)"))
    legend_svg, legend_h = _legend(legend, axis_y + 62)
    out = [_open(title, axis_y + 62 + legend_h), *body, legend_svg, "</svg>"]
    return Markup("".join(out))


def _legend(names: Sequence[str], top: int) -> tuple[str, int]:
    """Legend entries flowed left to right in rows within the chart width; (svg, height)."""
    parts, x, y = [], 10.0, float(top)
    for j, name in enumerate(names):
        lines = wrap(name, 40, 2)
        w = 18 + max(_text_w(t, SMALL) for t in lines) + 18
        if x > 10 and x + w > WIDTH - 10:
            x, y = 10.0, y + LINE_H * 2 + 6
        fill = SERIES_COLOURS[j % len(SERIES_COLOURS)]
        spans = "".join(
            f'<tspan x="{x + 18:.1f}" y="{y + k * LINE_H:.1f}">{escape(t)}</tspan>'
            for k, t in enumerate(lines)
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 11:.1f}" width="12" height="12" fill="{fill}"/>'
            f'<text font-size="{SMALL}"><title>{escape(name)}</title>{spans}</text>'
        )
        x += w
    return "".join(parts), int(y - top + LINE_H * 2 + 4)


def funnel_chart(steps: Sequence[tuple[str, int, int]], *, title: str) -> Markup:
    """The cleaning funnel as a flow: (label, count, indent level) boxes joined by arrows."""
    box_h, gap = 30, 14
    height = len(steps) * (box_h + gap) + 10
    out = [_open(title, height)]
    for i, (label, count, level) in enumerate(steps):
        y = 5 + i * (box_h + gap)
        x = 10 + level * 40
        fill = "#eef3f8" if level == 0 else "#f7f7f7"
        out.append(
            f'<rect x="{x}" y="{y}" width="{WIDTH - x - 20}" height="{box_h}" rx="4" '
            f'fill="{fill}" stroke="#1f5f8b"/>'
            f'<text x="{x + 10}" y="{y + 19}" font-size="{FONT}">{escape(label)}: '
            f'<tspan font-weight="bold">{count:,}</tspan></text>'
        )
        if i:
            out.append(
                f'<line x1="{x + 20}" y1="{y - gap}" x2="{x + 20}" y2="{y}" stroke="#1f5f8b" '
                f'stroke-width="1.5"/>'
            )
    out.append("</svg>")
    return Markup("".join(out))


def _open(title: str, height: int) -> str:
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )


def _axis(y: int, plot_w: int, scale_max: float, label: str) -> str:
    ticks = []
    for k in range(5):
        value = scale_max * k / 4
        x = LABEL_W + plot_w * k / 4
        text = f"{value:.0f}" if scale_max >= 10 else f"{value:.2f}"
        ticks.append(
            f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#555"/>'
            f'<text x="{x:.1f}" y="{y + 17}" text-anchor="middle" font-size="{SMALL}">{text}</text>'
        )
    return (
        f'<line x1="{LABEL_W}" y1="{y}" x2="{LABEL_W + plot_w}" y2="{y}" stroke="#555"/>'
        + "".join(ticks)
        + f'<text x="{LABEL_W + plot_w / 2:.1f}" y="{y + 36}" text-anchor="middle" '
        f'font-size="{FONT}">{escape(label)}</text>'
    )
