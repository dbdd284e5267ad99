"""Percentages, Wilson intervals and base flags, as polars expressions over ``n`` and ``base``.

The Wilson score interval is used rather than the normal ("Wald") interval because survey tables
here have small bases and shares near 0% or 100%, where Wald gives impossible bounds (below 0)
and zero width at 0%. Everything is vectorised: no Python per row.
"""

from __future__ import annotations

import math

import polars as pl

Z95 = 1.959963984540054
LOW_BASE = "low base"
SUPPRESSED = "suppressed"


def wilson(n: int, base: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson 95% interval for ``n`` of ``base`` in 0-100, or None for an empty base (reference)."""
    if base <= 0:
        return None
    p = n / base
    denom = 1 + z * z / base
    centre = (p + z * z / (2 * base)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / base + z * z / (4 * base * base))
    return (max(0.0, centre - half) * 100, min(1.0, centre + half) * 100)


def wilson_exprs(n: pl.Expr, base: pl.Expr, z: float = Z95) -> tuple[pl.Expr, pl.Expr]:
    """(ci_low, ci_high) expressions in 0-100; null where the base is zero."""
    nf, bf = n.cast(pl.Float64), base.cast(pl.Float64)
    ok = bf > 0
    p = nf / bf
    denom = 1 + z * z / bf
    centre = (p + z * z / (2 * bf)) / denom
    half = z / denom * (p * (1 - p) / bf + z * z / (4 * bf * bf)).sqrt()
    low = pl.when(ok).then(pl.max_horizontal(centre - half, pl.lit(0.0)) * 100)
    high = pl.when(ok).then(pl.min_horizontal(centre + half, pl.lit(1.0)) * 100)
    return low, high


def add_statistics(
    tidy: pl.DataFrame, *, low_base: int = 30, suppress_base: int = 10
) -> pl.DataFrame:
    """Add ``pct``, ``ci_low``, ``ci_high``, ``flag`` (and ``ratio``) from ``n`` and ``base``.

    ``suppressed`` (base under ``suppress_base``) nulls the percentage, its interval and the
    ratio; ``low base`` (under ``low_base``) keeps them but flags them. For ratio tables ``n`` is
    the numerator and ``base`` numerator + denominator, so ``ratio = n / (base - n)``, null when
    the denominator is zero.
    """
    n, base = pl.col("n"), pl.col("base")
    suppressed = base < suppress_base
    low, high = wilson_exprs(n, base)
    keep = ~suppressed & (base > 0)
    den = pl.col("_den").cast(pl.Float64) if "_den" in tidy.columns else pl.lit(None, pl.Float64)
    ratio_expr = pl.when(keep & (den > 0)).then(n.cast(pl.Float64) / den)
    return tidy.with_columns(
        pct=pl.when(keep).then(n.cast(pl.Float64) / base.cast(pl.Float64) * 100),
        ci_low=pl.when(keep).then(low),
        ci_high=pl.when(keep).then(high),
        flag=pl.when(suppressed)
        .then(pl.lit(SUPPRESSED))
        .when(base < low_base)
        .then(pl.lit(LOW_BASE))
        .otherwise(pl.lit(None, dtype=pl.String)),
        ratio=ratio_expr.cast(pl.Float64),
    )
