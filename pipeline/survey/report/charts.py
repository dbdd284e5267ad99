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
LABEL_W = 340
ROW_H = 22
BAR_H = 14
FONT = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # 0-100 for percentages, any scale for ratios
    text: str  # the value label printed beside the bar


def colour_for(group: str | None) -> str:
    return SECTOR_COLOURS.get(group, SECTOR_COLOURS[None])


def _clip(label: str, limit: int = 50) -> str:
    """Fit a label in LABEL_W at FONT px (about 6.5 px a character); the full text is in <title>."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    axis_label: str,
    colour: str,
    scale_max: float = 100.0,
    heading: str | None = None,
) -> Markup:
    """Horizontal bars with category labels, value labels and a labelled 0-max axis.

    ``heading`` is drawn above the bars, so panels of a grouped figure say which group they show.
    """
    plot_w = WIDTH - LABEL_W - 60
    top = 30 if heading else 10
    height = ROW_H * len(bars) + 40 + top
    out = [_open(title, height)]
    if heading:
        out.append(
            f'<text x="0" y="16" font-size="{FONT + 1}" font-weight="bold" fill="{colour}">'
            f"{escape(heading)}</text>"
        )
    for i, bar in enumerate(bars):
        y = top + i * ROW_H
        length = 0.0 if bar.value is None else max(0.0, bar.value) / scale_max * plot_w
        out.append(
            f'<text x="{LABEL_W - 6}" y="{y + BAR_H - 3}" text-anchor="end" font-size="{FONT}">'
            f"<title>{escape(bar.label)}</title>{escape(_clip(bar.label))}</text>"
            f'<rect x="{LABEL_W}" y="{y}" width="{length:.1f}" height="{BAR_H}" fill="{colour}"/>'
            f'<text x="{LABEL_W + length + 4:.1f}" y="{y + BAR_H - 3}" font-size="{FONT}">'
            f"{escape(bar.text)}</text>"
        )
    axis_y = top + len(bars) * ROW_H + 4
    out.append(_axis(axis_y, plot_w, scale_max, axis_label))
    out.append("</svg>")
    return Markup("".join(out))


def stacked_chart(
    groups: Sequence[tuple[str, Sequence[Bar]]], *, title: str, legend: Sequence[str]
) -> Markup:
    """100% stacked horizontal bars, one per group, segments in legend order with a legend."""
    plot_w = WIDTH - LABEL_W - 20
    height = ROW_H * len(groups) + 70
    out = [_open(title, height)]
    for i, (label, segments) in enumerate(groups):
        y = 10 + i * ROW_H
        out.append(
            f'<text x="{LABEL_W - 6}" y="{y + BAR_H - 3}" text-anchor="end" font-size="{FONT}">'
            f"{escape(_clip(label))}</text>"
        )
        x = float(LABEL_W)
        for j, seg in enumerate(segments):
            w = 0.0 if seg.value is None else max(0.0, seg.value) / 100 * plot_w
            fill = SERIES_COLOURS[j % len(SERIES_COLOURS)]
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{fill}">'
                f"<title>{escape(seg.label)}: {escape(seg.text)}</title></rect>"
            )
            if w >= 24:
                out.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + BAR_H - 3}" text-anchor="middle" '
                    f'font-size="10" fill="#fff">{escape(seg.text)}</text>'
                )
            x += w
    axis_y = 10 + len(groups) * ROW_H + 4
    out.append(_axis(axis_y, plot_w, 100.0, "Percentage of base"))
    ly = axis_y + 38
    lx = 10
    for j, name in enumerate(legend):
        fill = SERIES_COLOURS[j % len(SERIES_COLOURS)]
        out.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{fill}"/>'
            f'<text x="{lx + 14}" y="{ly}" font-size="10">{escape(_clip(name, 28))}</text>'
        )
        lx += 14 + 6 * min(len(name), 28) + 12
    out.append("</svg>")
    return Markup("".join(out))


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
            f'<text x="{x:.1f}" y="{y + 15}" text-anchor="middle" font-size="10">{text}</text>'
        )
    return (
        f'<line x1="{LABEL_W}" y1="{y}" x2="{LABEL_W + plot_w}" y2="{y}" stroke="#555"/>'
        + "".join(ticks)
        + f'<text x="{LABEL_W + plot_w / 2:.1f}" y="{y + 30}" text-anchor="middle" '
        f'font-size="11">{escape(label)}</text>'
    )
