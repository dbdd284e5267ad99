"""Wilson intervals and base flags: known values and thresholds."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.survey.tables.stats import add_statistics, wilson


@pytest.mark.parametrize(
    ("n", "base", "low", "high"),
    [
        (0, 10, 0.0, 27.753),  # zero successes: Wald would give [0, 0]
        (5, 10, 23.659, 76.341),
        (10, 10, 72.247, 100.0),
        (81, 263, 25.53, 36.62),  # Newcombe (1998) worked example: 0.2553-0.3662
    ],
)
def test_wilson_known_values(n: int, base: int, low: float, high: float) -> None:
    lo, hi = wilson(n, base)  # type: ignore[misc]
    assert lo == pytest.approx(low, abs=0.1)
    assert hi == pytest.approx(high, abs=0.1)


def test_vectorised_interval_equals_reference() -> None:
    tidy = pl.DataFrame({"n": [0, 5, 81, 3], "base": [10, 10, 263, 4]})
    out = add_statistics(tidy, suppress_base=1)
    for row in out.iter_rows(named=True):
        lo, hi = wilson(row["n"], row["base"])  # type: ignore[misc]
        assert row["ci_low"] == pytest.approx(lo)
        assert row["ci_high"] == pytest.approx(hi)


def test_flags_low_base_and_suppression() -> None:
    tidy = pl.DataFrame({"n": [5, 5, 5, 0], "base": [30, 29, 9, 0]})
    out = add_statistics(tidy)
    assert out["flag"].to_list() == [None, "low base", "suppressed", "suppressed"]
    assert out["pct"].to_list()[:2] == [pytest.approx(100 * 5 / 30), pytest.approx(100 * 5 / 29)]
    assert out["pct"].to_list()[2:] == [None, None]
    assert out["ci_low"].to_list()[2:] == [None, None]


def test_thresholds_are_configurable() -> None:
    out = add_statistics(pl.DataFrame({"n": [5], "base": [9]}), low_base=5, suppress_base=3)
    assert out["flag"].to_list() == [None]
    assert out["pct"].to_list() == [pytest.approx(100 * 5 / 9)]


def test_ratio_is_numerator_over_denominator_and_null_without_one() -> None:
    tidy = pl.DataFrame({"n": [10, 10], "base": [40, 40], "_den": [20, 0]})
    out = add_statistics(tidy)
    assert out["ratio"].to_list() == [0.5, None]
