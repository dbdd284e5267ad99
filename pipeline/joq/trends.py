"""Taxonomy themes across months: the share of each month's usable answers with a theme.

Why the taxonomy and not codes: each month has its own question and frame, so codes do not
compare across months; the parent themes do.
"""

from __future__ import annotations

import polars as pl

from pipeline.joq.frames import Taxonomy
from pipeline.joq.report import tidy_rows


def trends_table(
    per_month: dict[str, tuple[int, pl.DataFrame]], taxonomy: Taxonomy
) -> pl.DataFrame:
    """``per_month``: month -> (usable base, final codes with response_id, theme)."""
    rows = []
    for month in sorted(per_month):
        base, final = per_month[month]
        n_of = dict(final.group_by("theme").agg(pl.col("response_id").n_unique()).iter_rows())
        rows += tidy_rows(
            "joq-trends", month, [(t.label, int(n_of.get(t.id, 0))) for t in taxonomy.themes], base
        )
    df = pl.DataFrame(
        rows, schema_overrides={"pct": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64}
    )
    if df.height == 0:
        return df
    seen = df.group_by("row_label").agg(pl.col("n").sum()).filter(pl.col("n") > 0)["row_label"]
    return df.filter(pl.col("row_label").is_in(seen.implode()))


def trend_series(table: pl.DataFrame, width: int = 560, height: int = 220) -> dict:
    """Geometry for an inline SVG line chart: one polyline per theme, months on x."""
    months = sorted(set(table["group"].to_list())) if table.height else []
    top = max([r for r in table["pct"].to_list() if r is not None] + [1.0])
    xs = {m: (40 + i * (width - 80) / max(len(months) - 1, 1)) for i, m in enumerate(months)}
    series = []
    palette = [
        "#1b6ca8",
        "#c0392b",
        "#27ae60",
        "#8e44ad",
        "#d35400",
        "#2c3e50",
        "#16a085",
        "#7f8c8d",
        "#b7950b",
        "#6c3483",
        "#1e8449",
        "#922b21",
    ]
    for k, label in enumerate(sorted(set(table["row_label"].to_list()))):
        pts = table.filter(pl.col("row_label") == label).sort("group")
        coords = [
            (xs[m], height - 20 - (p or 0) / top * (height - 40))
            for m, p in zip(pts["group"], pts["pct"], strict=True)
        ]
        series.append(
            {
                "label": label,
                "colour": palette[k % len(palette)],
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
                "dots": [{"x": round(x, 1), "y": round(y, 1)} for x, y in coords],
            }
        )
    return {
        "months": [{"month": m, "x": round(x, 1)} for m, x in xs.items()],
        "series": series,
        "width": width,
        "height": height,
        "top": top,
    }
