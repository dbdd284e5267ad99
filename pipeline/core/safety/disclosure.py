"""Statistical disclosure control (ONS/GSS conventions) for the project's tidy table form.

A tidy table has ``table_id, group, row_label, n, base, pct`` (``pct`` unrounded 0-100, may be
null) and optionally ``ci_low, ci_high, flag``. ``apply_profile`` keeps every row and adds the
display columns ``n_display``, ``pct_display`` and ``note``; raw columns are left for analysis, so
only the display columns (plus ``base``) may be published.

Shorthands follow the GSS guidance on symbols in tables: ``[c]`` confidential, ``[low]`` low base.
"""

from __future__ import annotations

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
    return out.with_columns(
        _pct_c=pl.col("_cell") | (pl.col("base") < suppress_base).fill_null(False)
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

    The base itself is not suppressed here; a table whose base is under ``min_cell`` should not
    be published at all.
    """
    if profile not in ("analysis", "publication"):
        raise SpecError(
            f"unknown disclosure profile {profile!r}", fix="use analysis or publication"
        )
    _check_columns(tidy)
    n_text = pl.col("n").cast(pl.String).fill_null("")
    pct_text = pl.col("pct").map_elements(_pct_text, return_dtype=pl.String, skip_nulls=False)
    note = pl.when(pl.col("base") < low_base).then(pl.lit(LOW_BASE)).otherwise(pl.lit(None))
    if profile == "analysis":
        return tidy.with_columns(
            n_display=n_text, pct_display=pct_text.fill_null(""), note=note.cast(pl.String)
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
        pct_display=pl.when(pct_c).then(pl.lit(SUPPRESSED)).otherwise(pct_text.fill_null("")),
        note=note.cast(pl.String),
    ).drop("_idx", "_primary", "_cell", "_pct_c")
