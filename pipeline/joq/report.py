"""The month report's tables: sectors, codes, themes, breakdowns by imported column, status.

Why tidy tables: every figure in the HTML/Markdown comes from a CSV a reader can check, in the
project's form ``table_id, group, row_label, n, base, pct, ci_low, ci_high, flag`` (pct unrounded
0-100, Wilson 95% interval). Breakdowns by role, region or any other imported column go through
the publication disclosure profile (``pipeline.core.safety.disclosure``) before anyone sees them.
Quotes and the consent rule live in ``pipeline.joq.quotes``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from pipeline.core.safety.disclosure import apply_profile
from pipeline.joq.frames import Frame, Taxonomy

TIDY = ["table_id", "group", "row_label", "n", "base", "pct", "ci_low", "ci_high", "flag"]
LOW_BASE = 30  # flag "low base" under this many in the base
SMALL_GROUP = 10  # warn on quotes from a sector or region group smaller than this


def wilson(n: int, base: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """Wilson score 95% interval for n/base, as percentages."""
    if base <= 0:
        return None, None
    p = n / base
    denom = 1 + z * z / base
    centre = (p + z * z / (2 * base)) / denom
    half = z * math.sqrt(p * (1 - p) / base + z * z / (4 * base * base)) / denom
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def tidy_rows(
    table_id: str, group: str, counts: Iterable[tuple[str, int]], base: int
) -> list[dict]:
    rows = []
    for label, n in counts:
        lo, hi = wilson(n, base)
        rows.append(
            {
                "table_id": table_id,
                "group": group,
                "row_label": label,
                "n": n,
                "base": base,
                "pct": 100 * n / base if base else None,
                "ci_low": lo,
                "ci_high": hi,
                "flag": "low base" if base < LOW_BASE else "",
            }
        )
    return rows


def tidy_frame(rows: list[dict]) -> pl.DataFrame:
    """Tidy rows as the month tables' one schema (nulls allowed where a value is not measured)."""
    return pl.DataFrame(
        rows,
        schema={
            "table_id": pl.String,
            "group": pl.String,
            "row_label": pl.String,
            "n": pl.Int64,
            "base": pl.Int64,
            "pct": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "flag": pl.String,
        },
    )


def sector_respondents(responses: pl.DataFrame) -> pl.DataFrame:
    """Who answered the closed sector question: every respondent who ticked at least one option,
    whatever they wrote in the free text (a "n/a" answer does not unask the drop-down)."""
    return responses.filter(pl.col("sectors").list.len() > 0)


def sector_table(responses: pl.DataFrame, frame: Frame) -> pl.DataFrame:
    """figure-G-1: share of the sector question's respondents ticking each option (multi-select;
    ``responses`` is every imported row, usable or not)."""
    answered = sector_respondents(responses)
    counts = [
        (s.label, int(answered["sectors"].list.contains(s.code).sum())) for s in frame.sectors
    ]
    return tidy_frame(tidy_rows("figure-G-1", "all", counts, answered.height))


def coselection_table(responses: pl.DataFrame, frame: Frame) -> pl.DataFrame:
    """joq-coselection: respondents ticking every sector in a pair or triple (group ``2 sectors``,
    ``3 sectors``: at least these), and those whose selection is exactly that combination
    (``exactly 2``, ``exactly 3``: the reading of Annex G para G.12 that agrees with Figure G-1; see
    docs/joq-reference-data.md). Explicit choices only; "All of the above" is its own option and
    not expanded. Base as figure-G-1."""
    answered = sector_respondents(responses)
    named = [s for s in frame.sectors if s.code != "all"]
    ticked = {s.code: answered["sectors"].list.contains(s.code).to_numpy() for s in named}
    n_ticked = answered["sectors"].list.len().to_numpy()
    rows = []
    for size in (2, 3):
        at_least, exactly = [], []
        for combo in itertools.combinations(named, size):
            mask = np.ones(answered.height, dtype=bool)
            for s in combo:
                mask &= ticked[s.code]
            label = " + ".join(s.label.split(" ")[0] for s in combo)
            at_least.append((label, int(mask.sum())))
            exactly.append((label, int((mask & (n_ticked == size)).sum())))
        rows += tidy_rows("joq-coselection", f"{size} sectors", at_least, answered.height)
        rows += tidy_rows("joq-coselection", f"exactly {size}", exactly, answered.height)
    return tidy_frame(rows)


def codes_tables(
    usable: pl.DataFrame, final: pl.DataFrame, frame: Frame, taxonomy: Taxonomy
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """joq-codes, joq-codes-by-sector, joq-taxonomy-themes (answers with >= 1 code in theme)."""
    coded = final.join(usable.select("response_id", "sectors"), on="response_id")
    base = usable.height
    by_code = coded.group_by("code_id").agg(pl.col("response_id").n_unique().alias("n"))
    n_of = dict(zip(by_code["code_id"], by_code["n"], strict=True))
    codes = tidy_frame(
        tidy_rows(
            "joq-codes", "all", [(c.label, int(n_of.get(c.id, 0))) for c in frame.codes], base
        )
    )
    rows = []
    for s in frame.sectors:
        ids = usable.filter(pl.col("sectors").list.contains(s.code))["response_id"]
        sub = coded.filter(pl.col("response_id").is_in(ids.implode()))
        n_sub = dict(
            sub.group_by("code_id").agg(pl.col("response_id").n_unique().alias("n")).iter_rows()
        )
        rows += tidy_rows(
            "joq-codes-by-sector",
            s.label,
            [(c.label, int(n_sub.get(c.id, 0))) for c in frame.codes],
            ids.len(),
        )
    by_sector = tidy_frame(rows)
    by_theme = dict(
        coded.group_by("theme").agg(pl.col("response_id").n_unique().alias("n")).iter_rows()
    )
    used = {c.theme for c in frame.codes}
    themes = tidy_frame(
        tidy_rows(
            "joq-taxonomy-themes",
            "all",
            [(t.label, int(by_theme.get(t.id, 0))) for t in taxonomy.themes if t.id in used],
            base,
        )
    )
    return codes, by_sector, themes


def group_sizes(usable: pl.DataFrame) -> tuple[dict[str, int], dict[str, int]]:
    sectors = dict(usable.explode("sectors").group_by("sectors").len().drop_nulls().iter_rows())
    regions = dict(usable.filter(pl.col("region") != "").group_by("region").len().iter_rows())
    return sectors, regions


NOT_GIVEN = "(not given)"
BREAKDOWN_MIN_CELL = 5  # publication profile for JOQ breakdowns: counts 1-4 shown as [c]
# Imported columns that are not respondent characteristics to break codes down by.
NOT_BREAKDOWNS = {
    "month",
    "response_id",
    "row_number",
    "submitted",
    "sectors",
    "text",
    "usable",
    "nonanswer",
    "consent",
}


def breakdown_columns(usable: pl.DataFrame) -> list[str]:
    """Role, region and any other imported text column with at least one value."""
    cols = [
        c
        for c, t in usable.schema.items()
        if c not in NOT_BREAKDOWNS and t == pl.String and usable[c].fill_null("").ne("").any()
    ]
    return sorted(cols, key=lambda c: ({"role": 0, "region": 1}.get(c, 2), c))


def codes_by(usable: pl.DataFrame, final: pl.DataFrame, frame: Frame, column: str) -> pl.DataFrame:
    """joq-codes-by-<column>: per group of ``column`` (blank = "(not given)"), the share of its
    usable answers with each code; base = the group's usable answers; publication disclosure
    profile applied (multi-response, so primary suppression only)."""
    groups = usable.select(
        "response_id",
        pl.col(column).fill_null("").replace("", NOT_GIVEN).alias("_g"),
    )
    coded = final.join(groups, on="response_id")
    rows = []
    sizes = dict(groups.group_by("_g").len().iter_rows())
    # largest group first; "Other" and "(not given)" last
    for g in sorted(sizes, key=lambda g: (g == NOT_GIVEN, g == "Other", -sizes[g], g)):
        base = int(sizes[g])
        sub = coded.filter(pl.col("_g") == g)
        n_of = dict(
            sub.group_by("code_id").agg(pl.col("response_id").n_unique().alias("n")).iter_rows()
        )
        rows += tidy_rows(
            f"joq-codes-by-{column}",
            g,
            [(c.label, int(n_of.get(c.id, 0))) for c in frame.codes],
            base,
        )
    return publishable(tidy_frame(rows))


def publishable(table: pl.DataFrame) -> pl.DataFrame:
    """A breakdown with the publication disclosure profile's display columns (multi-response, so
    primary suppression only): counts under ``BREAKDOWN_MIN_CELL`` and bases under 10 show [c]."""
    return apply_profile(table, "publication", exclusive=False, min_cell=BREAKDOWN_MIN_CELL)


MATRIX_COLUMNS = 7  # groups per grid: more would not fit the page width, so the grid is split


def breakdown_matrix(table: pl.DataFrame, columns: int = MATRIX_COLUMNS) -> dict:
    """Code x group grids of displayed percentages for the HTML (groups with their bases): all
    groups in ``groups``/``rows``, and the same split into ``parts`` of at most ``columns``."""
    groups = list(dict.fromkeys(table["group"].to_list()))
    bases = dict(zip(table["group"], table["base"], strict=False))
    cells: dict[str, dict[str, str]] = {}
    for r in table.iter_rows(named=True):
        cells.setdefault(r["row_label"], {})[r["group"]] = r["pct_display"]

    def grid(gs: list[str]) -> dict:
        return {
            "groups": [{"label": g, "base": bases[g]} for g in gs],
            "rows": [{"label": k, "cells": [v.get(g, "") for g in gs]} for k, v in cells.items()],
        }

    n_parts = max(1, -(-len(groups) // columns))
    size = -(-len(groups) // n_parts)  # balanced parts: 8 groups -> 4 + 4, not 7 + 1
    parts = [grid(groups[k : k + size]) for k in range(0, len(groups), size)]
    return grid(groups) | {"parts": parts}


def review_status(usable: pl.DataFrame, final: pl.DataFrame) -> dict[str, int]:
    human = final.filter(pl.col("method").str.starts_with("human:"))["response_id"].n_unique()
    other_q = final.filter(
        (pl.col("code_id") == "other") & ~pl.col("method").str.starts_with("human:")
    )["response_id"].n_unique()
    return {
        "usable": usable.height,
        "human_reviewed": human,
        "machine_only": usable.height - human,
        "other_queue": other_q,
    }


def bar_chart(rows: Sequence[dict], width: int = 420, bar: int = 18) -> dict:
    """Geometry for an inline SVG bar chart (no external resources): label, pct, bar width."""
    bars = [
        {
            "label": r["row_label"],
            "pct": r["pct"] or 0.0,
            "n": r["n"],
            "y": k * (bar + 6),
            "w": round((r["pct"] or 0.0) / 100 * width, 2),
        }
        for k, r in enumerate(rows)
    ]
    return {"bars": bars, "height": len(bars) * (bar + 6), "width": width, "bar": bar}
