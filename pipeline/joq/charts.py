"""Geometry for the JOQ reports' inline SVG charts (no scripts, no external resources).

Why geometry here and markup in the templates: the layout rules people notice are testable as
data. Bars are sorted, labels are wrapped on word boundaries (never cut) and the bars use the
width; trends are small multiples on one shared y-axis with direct labels, and a theme that was not
in a month's frame is a gap, not a zero.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

CHAR_PX = 6.2  # mean advance of the 12px chart font; measured 5.5 px in headless Chromium
LINE_PX = 15
ACCENT = "#1b6ca8"


def wrap(label: str, width_px: float) -> list[str]:
    """Word-wrapped lines that fit ``width_px``; a single over-long word is kept whole."""
    chars = max(8, int(width_px / CHAR_PX))
    return textwrap.wrap(label, chars, break_long_words=False, break_on_hyphens=False) or [""]


def ordered(rows: Sequence[dict], last: Sequence[str] = ()) -> list[dict]:
    """Largest share first; labels in ``last`` (e.g. "Other") kept at the end. Charts and the
    tables under them share this order."""
    return sorted(rows, key=lambda r: (r["row_label"] in last, -(r["pct"] or 0.0)))


def bar_chart(
    rows: Sequence[dict],
    width: int = 760,
    label_width: int = 300,
    bar: int = 16,
    gap: int = 10,
    last: Sequence[str] = (),
) -> dict:
    """Horizontal bars, largest first (labels in ``last`` kept at the end, e.g. "Other"), scaled
    so the largest bar fills the plot width; each label wrapped into as many lines as it needs."""
    value_px = 96  # room right of the longest bar for "100% (999)"
    plot = width - label_width - 12 - value_px
    top = max([r["pct"] or 0.0 for r in rows] + [1e-9])
    bars, y = [], 0
    for r in ordered(rows, last):
        lines = wrap(r["row_label"], label_width)
        block = max(bar, len(lines) * LINE_PX)
        w = round((r["pct"] or 0.0) / top * plot, 2)
        first = y + (block - len(lines) * LINE_PX) / 2 + 11
        bars.append(
            {
                "label": r["row_label"],
                "lines": [
                    {"text": t, "y": round(first + k * LINE_PX, 1)} for k, t in enumerate(lines)
                ],
                "pct": r["pct"] or 0.0,
                "n": r["n"],
                "y": round(y + (block - bar) / 2, 1),
                "w": w,
                "value_x": label_width + 12 + w + 4,
                "value_y": round(y + block / 2 + 4, 1),
            }
        )
        y += block + gap
    return {
        "bars": bars,
        "height": max(y - gap, 0) + 4,
        "width": width,
        "bar": bar,
        "x0": label_width + 12,
    }


def nice_max(value: float) -> float:
    """The axis top: the next multiple of 10 (5 below 10) at or above ``value``."""
    step = 5 if value <= 10 else 10
    return max(step, math.ceil(value / step) * step)


def small_multiples(
    series: dict[str, dict[str, float | None]],
    months: Sequence[str],
    columns: int = 3,
    panel_w: int = 265,
    panel_h: int = 165,
) -> dict:
    """One panel per theme (``series``: theme -> month -> pct, None where the theme was not in the
    month's frame), all on one y-axis from 0 to a shared top, months on x, the value of every point
    written beside it, and no line drawn across a missing month."""
    left, right, top_pad, bottom, inset = 40, 24, 48, 22, 24
    plot_w, plot_h = panel_w - left - right, panel_h - top_pad - bottom
    peak = max([v for s in series.values() for v in s.values() if v is not None] + [1.0])
    ymax = nice_max(peak)
    span = plot_w - 2 * inset  # months start and end inside the axis, clear of its labels
    step = span / max(len(months) - 1, 1)
    xs = {
        m: left + inset + (i * step if len(months) > 1 else span / 2) for i, m in enumerate(months)
    }

    def y_of(v: float) -> float:
        return round(top_pad + plot_h - v / ymax * plot_h, 1)

    panels = []
    for k, (theme, values) in enumerate(series.items()):
        points = [(m, values.get(m)) for m in months]
        segments, run = [], []
        for m, v in points:
            if v is None:
                if len(run) > 1:
                    segments.append(run)
                run = []
            else:
                run.append((round(xs[m], 1), y_of(v)))
        if len(run) > 1:
            segments.append(run)
        panels.append(
            {
                "title": wrap(theme, panel_w - 8)[:2],
                "x": (k % columns) * panel_w,
                "y": (k // columns) * panel_h,
                "segments": [" ".join(f"{x},{y}" for x, y in seg) for seg in segments],
                "dots": [
                    {"x": round(xs[m], 1), "y": y_of(v), "label": f"{v:.0f}%"}
                    for m, v in points
                    if v is not None
                ],
                "gaps": [{"x": round(xs[m], 1), "month": m} for m, v in points if v is None],
            }
        )
    rows = math.ceil(len(panels) / columns) if panels else 0
    return {
        "panels": panels,
        "months": [{"month": m, "x": round(x, 1)} for m, x in xs.items()],
        "ticks": [{"value": t, "y": y_of(t)} for t in (0, ymax / 2, ymax)],
        "panel_w": panel_w,
        "panel_h": panel_h,
        "plot": {"left": left, "right": left + plot_w, "top": top_pad, "bottom": top_pad + plot_h},
        "width": columns * panel_w,
        "height": rows * panel_h,
        "colour": ACCENT,
    }
