"""Statistical disclosure control (ONS/GSS conventions) for the project's tidy table form.

A tidy table has ``table_id, group, row_label, n, base, pct`` (``pct`` unrounded 0-100, may be
null) and optionally ``row, ci_low, ci_high, flag``. ``apply_profile`` keeps every row and adds the
display columns ``n_display``, ``base_display``, ``pct_display`` and ``note``; raw columns are left
for analysis, so only the display columns may be published.

One table is not the whole story: a reader holding Figure 4-1 (35 of 196) and its breakdown by
tenure (34 of 190, the rest ``[c]``) recovers the hidden cell as 35 - 34. ``protect_across`` finds
every such margin between published tables (a cell that is the sum of another table's groups,
checked on the counts themselves) and suppresses complementary cells until no relation has
exactly one hidden cell, so no suppressed value is one subtraction away.

Shorthands follow the GSS guidance on symbols in tables: ``[c]`` confidential, ``[low]`` low base.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

import polars as pl

from pipeline.core.errors import SpecError

Profile = Literal["analysis", "publication"]
SUPPRESSED = "[c]"
LOW_BASE = "[low]"
GROUP_KEYS = ("table_id", "group")
REQUIRED = ("table_id", "group", "row_label", "n", "base", "pct")
_FLOAT_NOISE = Decimal("1e-9")


def round_half_up(x: float | None) -> int | None:
    """Round to a whole number, halves away from zero (12.5 -> 13), as published tables expect.

    Python's ``round`` is banker's rounding (``round(0.5) == 0``). The value is first cleaned of
    binary float noise at 9 decimal places, so ``57 / 200 * 100`` (stored as 28.499999999999996)
    rounds to 29 like the exact 28.5 it stands for, while 2.4999 still rounds to 2.
    """
    if x is None:
        return None
    try:
        exact = Decimal(repr(float(x))).quantize(_FLOAT_NOISE, rounding=ROUND_HALF_EVEN)
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError, OverflowError):
        return None  # NaN or infinity: nothing sensible to show


def _pct_text(pct: float | None) -> str:
    rounded = round_half_up(pct)
    return "" if rounded is None else str(rounded)


def _check_columns(tidy: pl.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in tidy.columns]
    if missing:
        raise SpecError(
            f"tidy table lacks column(s) {', '.join(missing)}",
            fix=f"build tables with the columns {', '.join(REQUIRED)}",
        )


def _secondary(primary: pl.Expr) -> pl.Expr:
    """The complementary cell for groups with exactly one primary-suppressed cell.

    It is the smallest other non-zero count (first in row order on ties); when every other cell
    is zero, the smallest other cell, since the lone suppressed cell would otherwise equal the base.
    """
    keys = list(GROUP_KEYS)
    n, idx = pl.col("n"), pl.col("_idx")
    lone = primary.cast(pl.Int64).sum().over(keys) == 1
    candidate = pl.when(~primary & n.is_not_null() & (n > 0)).then(n)
    fallback = pl.when(~primary & n.is_not_null()).then(n)
    has_candidate = candidate.count().over(keys) > 0
    chosen = pl.when(has_candidate).then(candidate).otherwise(fallback)
    is_min = chosen == chosen.min().over(keys)
    first_min = pl.when(is_min).then(idx).min().over(keys) == idx
    return (lone & is_min.fill_null(False) & first_min.fill_null(False)).fill_null(False)


def _publication_flags(
    tidy: pl.DataFrame, *, exclusive: bool, min_cell: int, suppress_base: int
) -> pl.DataFrame:
    n = pl.col("n")
    primary = (n.is_not_null() & (n >= 1) & (n < min_cell)).alias("_primary")
    out = tidy.with_row_index("_idx").with_columns(primary)
    secondary = _secondary(pl.col("_primary")) if exclusive else pl.lit(False)
    out = out.with_columns(_cell=pl.col("_primary") | secondary)
    base = pl.col("base")
    small_base = (base.is_not_null() & (base >= 1) & (base < min_cell)).alias("_base_c")
    return out.with_columns(small_base).with_columns(
        _pct_c=pl.col("_cell") | pl.col("_base_c") | (base < suppress_base).fill_null(False)
    )


def apply_profile(
    tidy: pl.DataFrame,
    profile: Profile,
    *,
    exclusive: bool,
    min_cell: int = 10,
    low_base: int = 30,
    suppress_base: int = 10,
) -> pl.DataFrame:
    """Add ``n_display``, ``pct_display`` and ``note`` for the chosen profile.

    ``analysis`` shows everything (``[low]`` noted where base < ``low_base``). ``publication``:

    - counts 1 to ``min_cell - 1`` show ``[c]`` and so does their percentage (pct and base
      reveal n); 0 is shown, since an empty category discloses nobody;
    - every percentage on a base under ``suppress_base`` is ``[c]``;
    - ``[low]`` is noted where base < ``low_base``;
    - ``exclusive=True`` (a group's rows are mutually exclusive categories summing to the base):
      a group with exactly one primary-suppressed cell also suppresses its smallest other
      non-zero cell, so neither can be recovered as base minus the shown cells;
    - ``exclusive=False`` (multi-response: rows do not add up to anything) has no additive
      total to subtract from, so only primary suppression applies;
    - ``ci_low``/``ci_high`` are nulled wherever the percentage is ``[c]`` (an interval reveals
      its estimate).

    - a base of 1 to ``min_cell - 1`` shows ``[c]`` (``base_display``): a group that small is
      itself a disclosure.

    Relations between tables (and a hidden base inside an exclusive group) are handled by
    ``protect_across``, applied to every published table together.
    """
    if profile not in ("analysis", "publication"):
        raise SpecError(
            f"unknown disclosure profile {profile!r}", fix="use analysis or publication"
        )
    _check_columns(tidy)
    n_text = pl.col("n").cast(pl.String).fill_null("")
    pct_text = pl.col("pct").map_elements(_pct_text, return_dtype=pl.String, skip_nulls=False)
    note = pl.when(pl.col("base") < low_base).then(pl.lit(LOW_BASE)).otherwise(pl.lit(None))
    base_text = pl.col("base").cast(pl.String).fill_null("")
    if profile == "analysis":
        return tidy.with_columns(
            n_display=n_text,
            base_display=base_text,
            pct_display=pct_text.fill_null(""),
            note=note.cast(pl.String),
        )
    flagged = _publication_flags(
        tidy, exclusive=exclusive, min_cell=min_cell, suppress_base=suppress_base
    )
    cell, pct_c = pl.col("_cell"), pl.col("_pct_c")
    ci = [
        pl.when(pct_c).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("ci_low", "ci_high")
        if c in tidy.columns
    ]
    return flagged.with_columns(
        *ci,
        n_display=pl.when(cell).then(pl.lit(SUPPRESSED)).otherwise(n_text),
        base_display=pl.when(pl.col("_base_c")).then(pl.lit(SUPPRESSED)).otherwise(base_text),
        pct_display=pl.when(pct_c).then(pl.lit(SUPPRESSED)).otherwise(pct_text.fill_null("")),
        note=note.cast(pl.String),
    ).drop("_idx", "_primary", "_cell", "_pct_c", "_base_c")


# --- secondary suppression across tables -------------------------------------------------------

Cell = tuple[str, str, str | None, str]  # ("n", table, group, row) or ("base", table, group, "")


@dataclass(frozen=True)
class Relation:
    """``total`` = sum of ``parts``: if exactly one of them is hidden, it can be recovered."""

    total: Cell
    parts: tuple[Cell, ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (self.total, *self.parts)


def _row_key(r: Mapping[str, object]) -> str:
    return str(r.get("row") if r.get("row") is not None else r["row_label"])


def _cells(shown: Mapping[str, pl.DataFrame]) -> tuple[dict[Cell, int], set[Cell]]:
    """Every count and base cell with its value, and which are hidden already."""
    value: dict[Cell, int] = {}
    hidden: set[Cell] = set()
    for tid, df in shown.items():
        for r in df.iter_rows(named=True):
            n_cell: Cell = ("n", tid, r["group"], _row_key(r))
            b_cell: Cell = ("base", tid, r["group"], "")
            if r["n"] is not None:
                value[n_cell] = int(r["n"])
                if r["n_display"] == SUPPRESSED:
                    hidden.add(n_cell)
            if r["base"] is not None:
                value[b_cell] = int(r["base"])
                if r["base_display"] == SUPPRESSED:
                    hidden.add(b_cell)
    return value, hidden


def relations(
    shown: Mapping[str, pl.DataFrame],
    *,
    exclusive: Mapping[str, bool],
    partitions: Mapping[str, Iterable[str]],
) -> list[Relation]:
    """The additive relations a reader can use between the published cells.

    - exclusive table: each group's base is the sum of its row counts;
    - margins: a group of one table (or a table's total row) whose base and every shared row's
      count equal the sums over another table's ``partitions`` groups (groups that split one
      population, e.g. by role). The sums are checked on the data, so a relation is only
      assumed where it really holds.
    """
    value, _ = _cells(shown)
    groups: dict[str, dict[str | None, dict[str, int]]] = {}
    for (kind, tid, group, row), v in value.items():
        if kind == "n":
            groups.setdefault(tid, {}).setdefault(group, {})[row] = v
    out: list[Relation] = []
    for tid, by_group in groups.items():
        if exclusive.get(tid):
            for g, rows in by_group.items():
                if ("base", tid, g, "") in value:
                    parts = tuple(("n", tid, g, r) for r in rows)
                    out.append(Relation(("base", tid, g, ""), parts))
    for b_id, parts_of in partitions.items():
        part_groups = sorted(g for g in set(parts_of) if g in groups.get(b_id, {}))
        if len(part_groups) < 2 or any(("base", b_id, g, "") not in value for g in part_groups):
            continue
        base_sum = sum(value[("base", b_id, g, "")] for g in part_groups)
        shared_rows = set.intersection(*(set(groups[b_id][g]) for g in part_groups))
        for a_id, by_group in groups.items():
            for a_group, rows in by_group.items():
                if a_id == b_id and a_group in part_groups:
                    continue
                if value.get(("base", a_id, a_group, "")) != base_sum:
                    continue
                common = sorted(shared_rows & set(rows))
                sums = {r: sum(groups[b_id][g][r] for g in part_groups) for r in common}
                if not common or any(sums[r] != rows[r] for r in common):
                    continue
                out.append(
                    Relation(
                        ("base", a_id, a_group, ""),
                        tuple(("base", b_id, g, "") for g in part_groups),
                    )
                )
                for r in common:
                    parts = tuple(("n", b_id, g, r) for g in part_groups)
                    out.append(Relation(("n", a_id, a_group, r), parts))
    return out


def secondary_cells(
    value: Mapping[Cell, int], hidden: set[Cell], rels: Iterable[Relation]
) -> set[Cell]:
    """Hide complementary cells until no relation has exactly one hidden cell.

    The complement is the smallest shown non-zero part (a part rather than the total, which is
    the headline figure), else a zero part, else the total; ties go to the first in order.
    """
    rels = list(rels)
    order = {c: k for k, c in enumerate(value)}
    hidden = set(hidden)
    changed = True
    while changed:
        changed = False
        for rel in rels:
            if sum(c in hidden for c in rel.cells) != 1:
                continue
            shown = [c for c in rel.parts if c not in hidden]
            nonzero = [c for c in shown if value[c] > 0]
            pool = nonzero or shown or [rel.total]
            hidden.add(min(pool, key=lambda c: (value[c], order[c])))
            changed = True
    return hidden


def protect_across(
    shown: Mapping[str, pl.DataFrame],
    *,
    exclusive: Mapping[str, bool],
    partitions: Mapping[str, Iterable[str]],
) -> dict[str, pl.DataFrame]:
    """Publication display tables (from ``apply_profile``) with secondary suppression across all
    of them: afterwards no hidden count or base equals a shown total minus shown parts."""
    value, hidden = _cells(shown)
    rels = relations(shown, exclusive=exclusive, partitions=partitions)
    final = secondary_cells(value, hidden, rels)
    out = {}
    for tid, df in shown.items():
        n_keys = [("n", tid, r["group"], _row_key(r)) for r in df.iter_rows(named=True)]
        b_keys = [("base", tid, g, "") for g in df["group"].to_list()]
        n_c = pl.Series([k in final for k in n_keys], dtype=pl.Boolean)
        b_c = pl.Series([k in final for k in b_keys], dtype=pl.Boolean)
        pct_c = n_c | b_c | (pl.Series(df["pct_display"]) == SUPPRESSED)
        ci = [
            pl.when(pct_c).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("ci_low", "ci_high")
            if c in df.columns
        ]
        out[tid] = df.with_columns(
            *ci,
            n_display=pl.when(n_c).then(pl.lit(SUPPRESSED)).otherwise(pl.col("n_display")),
            base_display=pl.when(b_c).then(pl.lit(SUPPRESSED)).otherwise(pl.col("base_display")),
            pct_display=pl.when(pct_c).then(pl.lit(SUPPRESSED)).otherwise(pl.col("pct_display")),
        )
    return out


def publication_table(
    tidy: pl.DataFrame, *, exclusive: bool = False, **thresholds: int
) -> pl.DataFrame:
    """A tidy table as it may be published: ``n`` and ``base`` as display text (``[c]`` where
    hidden), ``pct`` and the interval nulled where hidden, ``flag`` saying so. For tables whose
    figures are not also published elsewhere in a related breakdown (the JOQ month tables)."""
    shown = protect_across(
        {"t": apply_profile(tidy, "publication", exclusive=exclusive, **thresholds)},
        exclusive={"t": exclusive},
        partitions={},
    )["t"]
    hidden = pl.col("pct_display") == SUPPRESSED
    flag = pl.col("flag") if "flag" in tidy.columns else pl.lit("")
    return shown.with_columns(
        pl.col("n_display").alias("n"),
        pl.col("base_display").alias("base"),
        pl.when(hidden).then(None).otherwise(pl.col("pct")).alias("pct"),
        pl.when(pl.col("n_display") == SUPPRESSED)
        .then(pl.lit("suppressed"))
        .otherwise(flag)
        .alias("flag"),
    ).select(tidy.columns)
