"""Taxonomy themes across months: the share of each month's usable answers with a theme.

Why the taxonomy and not codes: each month has its own question and frame, so codes do not
compare across months; the parent themes do. A theme none of whose codes was in a month's frame
was not measured that month: its row has no n or pct (flag ``not in frame``), never a zero.
"""

from __future__ import annotations

import polars as pl

from pipeline.joq.frames import Taxonomy
from pipeline.joq.report import tidy_frame, tidy_rows

NOT_IN_FRAME = "not in frame"
TOP_N = 9  # themes drawn as small multiples; the rest are in the table under the chart


def trends_table(
    per_month: dict[str, tuple[int, pl.DataFrame, set[str]]], taxonomy: Taxonomy
) -> pl.DataFrame:
    """``per_month``: month -> (usable base, final codes with response_id and theme, the theme ids
    the month's frame codes map to). Themes never coded in any month are left out."""
    rows = []
    for month in sorted(per_month):
        base, final, in_frame = per_month[month]
        n_of = dict(final.group_by("theme").agg(pl.col("response_id").n_unique()).iter_rows())
        for t in taxonomy.themes:
            if t.id in in_frame:
                rows += tidy_rows("joq-trends", month, [(t.label, int(n_of.get(t.id, 0)))], base)
            else:
                rows.append(
                    {"table_id": "joq-trends", "group": month, "row_label": t.label, "n": None}
                    | {"base": base, "pct": None, "ci_low": None, "ci_high": None}
                    | {"flag": NOT_IN_FRAME}
                )
    df = tidy_frame(rows)
    if df.height == 0:
        return df
    seen = df.group_by("row_label").agg(pl.col("n").sum()).filter(pl.col("n") > 0)["row_label"]
    return df.filter(pl.col("row_label").is_in(seen.implode()))


def ranked_themes(table: pl.DataFrame) -> list[str]:
    """Themes by mean share over the months they were measured in, largest first."""
    if table.height == 0:
        return []
    mean = (
        table.group_by("row_label")
        .agg(pl.col("pct").mean().alias("m"))
        .sort(["m", "row_label"], descending=[True, False], nulls_last=True)
    )
    return mean["row_label"].to_list()


def series(table: pl.DataFrame, themes: list[str]) -> dict[str, dict[str, float | None]]:
    """theme -> month -> pct (None where not in the month's frame), in ``themes`` order."""
    out: dict[str, dict[str, float | None]] = {t: {} for t in themes}
    for r in table.filter(pl.col("row_label").is_in(themes)).iter_rows(named=True):
        out[r["row_label"]][r["group"]] = r["pct"]
    return out
