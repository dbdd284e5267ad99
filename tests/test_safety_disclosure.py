"""ONS/GSS disclosure control on tidy tables: [c] small cells, [low] bases, secondary cells."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from pipeline.core.errors import SpecError
from pipeline.core.safety.disclosure import apply_profile, round_half_up


def tidy(counts: list[int | None], *, base: int | None = None, group: str = "g") -> pl.DataFrame:
    total = base if base is not None else sum(c or 0 for c in counts)
    return pl.DataFrame(
        {
            "table_id": ["t1"] * len(counts),
            "group": [group] * len(counts),
            "row_label": [f"option {i}" for i in range(len(counts))],
            "n": counts,
            "base": [total] * len(counts),
            "pct": [None if c is None or not total else c / total * 100 for c in counts],
        },
        schema_overrides={"n": pl.Int64, "base": pl.Int64, "pct": pl.Float64},
    )


def publish(df: pl.DataFrame, *, exclusive: bool = True) -> pl.DataFrame:
    return apply_profile(df, "publication", exclusive=exclusive)


@pytest.mark.parametrize(
    ("x", "expected"),
    [(0.5, 1), (1.5, 2), (2.5, 3), (12.5, 13), (84.5, 85), (2.4999, 2), (None, None), (-0.5, -1)],
)
def test_round_half_up_rounds_halves_up_unlike_python_round(x: float | None, expected: int) -> None:
    assert round_half_up(x) == expected


def test_round_half_up_ignores_binary_float_noise() -> None:
    assert 57 / 200 * 100 < 28.5  # what the float actually holds
    assert round_half_up(57 / 200 * 100) == 29


def test_analysis_profile_shows_everything_and_notes_low_bases() -> None:
    df = tidy([5, 20, 0, None])
    out = apply_profile(df, "analysis", exclusive=True)
    assert out["n_display"].to_list() == ["5", "20", "0", ""]
    assert out["pct_display"].to_list() == ["20", "80", "0", ""]
    assert out["note"].to_list() == ["[low]"] * 4
    assert out.select(df.columns).equals(df)


def test_analysis_profile_has_no_note_at_or_above_low_base() -> None:
    out = apply_profile(tidy([10, 20]), "analysis", exclusive=True)
    assert out["note"].to_list() == [None, None]


def test_publication_suppresses_counts_1_to_9_and_their_percentages_but_shows_zero() -> None:
    out = publish(tidy([1, 9, 10, 0, 80]), exclusive=False)
    assert out["n_display"].to_list() == ["[c]", "[c]", "10", "0", "80"]
    assert out["pct_display"].to_list() == ["[c]", "[c]", "10", "0", "80"]


def test_publication_suppresses_every_percentage_on_a_base_under_10() -> None:
    out = publish(tidy([0, 0], base=8), exclusive=False)
    assert out["n_display"].to_list() == ["0", "0"]
    assert out["pct_display"].to_list() == ["[c]", "[c]"]


def test_publication_notes_low_bases() -> None:
    assert publish(tidy([15, 14]))["note"].to_list() == ["[low]", "[low]"]
    assert publish(tidy([15, 15]))["note"].to_list() == [None, None]


def test_exclusive_group_with_one_suppressed_cell_also_suppresses_smallest_other_nonzero() -> None:
    out = publish(tidy([5, 40, 12, 0, 43]))
    assert out["n_display"].to_list() == ["[c]", "40", "[c]", "0", "43"]
    assert out["pct_display"].to_list() == ["[c]", "40", "[c]", "0", "43"]


def test_multi_response_table_gets_primary_suppression_only() -> None:
    out = publish(tidy([5, 40, 12], base=60), exclusive=False)
    assert out["n_display"].to_list() == ["[c]", "40", "12"]


def test_lone_nonzero_suppressed_cell_takes_a_zero_cell_with_it() -> None:
    out = publish(tidy([0, 4, 0]))
    assert out["n_display"].to_list() == ["[c]", "[c]", "0"]


def test_groups_are_suppressed_independently() -> None:
    df = pl.concat([tidy([5, 40, 12], group="a"), tidy([50, 40, 12], group="b")])
    out = publish(df)
    assert out["n_display"].to_list() == ["[c]", "40", "[c]", "50", "40", "12"]


def test_confidence_intervals_of_suppressed_cells_are_removed() -> None:
    df = tidy([5, 40, 12, 30]).with_columns(ci_low=pl.lit(1.0), ci_high=pl.lit(2.0))
    out = publish(df)
    assert out["ci_low"].to_list() == [None, 1.0, None, 1.0]
    assert out["ci_high"].to_list() == [None, 2.0, None, 2.0]


def test_missing_columns_are_a_spec_error() -> None:
    with pytest.raises(SpecError, match="pct"):
        apply_profile(tidy([1]).drop("pct"), "publication", exclusive=True)


def recoverable(counts: list[int], shown: list[str], base: int) -> list[int]:
    """Indices of suppressed cells an attacker can work out as base minus the shown cells."""
    hidden = [i for i, s in enumerate(shown) if s == "[c]"]
    visible = sum(int(s) for s in shown if s != "[c]")
    return hidden if len(hidden) == 1 and base - visible == counts[hidden[0]] else []


def test_no_suppressed_cell_is_recoverable_from_base_minus_shown_cells() -> None:
    values = [0, 1, 3, 9, 10, 25]
    frames = []
    for k in (2, 3, 4):
        for i, counts in enumerate(itertools.product(values, repeat=k)):
            if sum(counts):
                frames.append(tidy(list(counts), group=f"{k}-{i}"))
    out = publish(pl.concat(frames))
    checked = 0
    for (group,), rows in out.group_by(["group"], maintain_order=True):
        counts, shown = rows["n"].to_list(), rows["n_display"].to_list()
        assert recoverable(counts, shown, rows["base"][0]) == [], (group, counts, shown)
        checked += "[c]" in shown
    assert checked > 1000
