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


# --- issue 11 item 1: across tables, bases, and a property test ------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeline.core.safety.disclosure import (  # noqa: E402
    SUPPRESSED,
    protect_across,
    publication_table,
)


def table(tid: str, cells: dict[str | None, tuple[int, list[int]]]) -> pl.DataFrame:
    """{group: (base, [n per row])} as a tidy table with rows r0, r1, ..."""
    rows = []
    for group, (base, counts) in cells.items():
        for i, n in enumerate(counts):
            rows.append(
                {
                    "table_id": tid,
                    "group": group,
                    "row": f"r{i}",
                    "row_label": f"row {i}",
                    "n": n,
                    "base": base,
                    "pct": n / base * 100 if base else None,
                }
            )
    return pl.DataFrame(rows, schema_overrides={"group": pl.String})


def protect(tables: dict[str, pl.DataFrame], exclusive: bool, partitions: dict) -> dict:
    shown = {k: apply_profile(v, "publication", exclusive=exclusive) for k, v in tables.items()}
    return protect_across(shown, exclusive={k: exclusive for k in tables}, partitions=partitions)


def test_a_total_and_its_breakdown_do_not_reveal_the_hidden_part_by_subtraction():
    # Figure 4-1: 35 of 196; text-4.2a by tenure: under_1 1 of 6, one_plus 34 of 190
    total = table("figure-4-1", {None: (196, [35])})
    tenure = table("text-4.2a", {"under_1": (6, [1]), "one_plus": (190, [34])})
    out = protect(
        {"figure-4-1": total, "text-4.2a": tenure}, False, {"text-4.2a": ["one_plus", "under_1"]}
    )
    shown = dict(zip(out["text-4.2a"]["group"], out["text-4.2a"]["n_display"], strict=True))
    assert shown == {"under_1": SUPPRESSED, "one_plus": SUPPRESSED}
    bases = dict(zip(out["text-4.2a"]["group"], out["text-4.2a"]["base_display"], strict=True))
    assert bases == {"under_1": SUPPRESSED, "one_plus": SUPPRESSED}  # 196 - 190 = 6 otherwise
    assert out["figure-4-1"]["n_display"].to_list() == ["35"]  # the headline figure stays


def test_bases_under_ten_are_never_published():
    out = apply_profile(
        table("t", {"a": (2, [1, 1]), "b": (40, [20, 20])}), "publication", exclusive=True
    )
    assert dict(zip(out["group"], out["base_display"], strict=True)) == {"a": "[c]", "b": "40"}


def test_tables_that_only_look_related_are_left_alone():
    total = table("t", {None: (100, [50])})
    other = table("u", {"x": (60, [3]), "y": (40, [30])})  # 3 + 30 != 50: not a breakdown
    out = protect({"t": total, "u": other}, False, {"u": ["x", "y"]})
    assert out["u"]["n_display"].to_list() == [SUPPRESSED, "30"]


def _hidden(df: pl.DataFrame, column: str) -> dict[tuple, bool]:
    key = ("group", "row") if column == "n_display" else ("group",)
    return {tuple(r[k] for k in key): r[column] == SUPPRESSED for r in df.iter_rows(named=True)}


@st.composite
def related_tables(draw):
    """A total table, a breakdown of the same population into 2-4 groups, random counts."""
    k = draw(st.integers(1, 4))
    m = draw(st.integers(2, 4))
    exclusive = draw(st.booleans())
    groups = {}
    for g in range(m):
        if exclusive:
            counts = draw(st.lists(st.integers(0, 40), min_size=k, max_size=k))
            base = sum(counts)
        else:
            base = draw(st.integers(0, 60))
            counts = draw(st.lists(st.integers(0, base), min_size=k, max_size=k))
        groups[f"g{g}"] = (base, counts)
    total_base = sum(b for b, _ in groups.values())
    total_counts = [sum(c[i] for _, c in groups.values()) for i in range(k)]
    return exclusive, table("total", {None: (total_base, total_counts)}), table("by", groups)


@settings(max_examples=200, deadline=None)
@given(related_tables())
def test_no_suppressed_value_is_one_subtraction_away(case):
    exclusive, total, by = case
    out = protect({"total": total, "by": by}, exclusive, {"by": by["group"].unique().to_list()})
    t, b = out["total"], out["by"]
    n_t, n_b = _hidden(t, "n_display"), _hidden(b, "n_display")
    base_t, base_b = _hidden(t, "base_display"), _hidden(b, "base_display")
    groups = sorted(set(by["group"]))
    rows = sorted(set(by["row"]))
    # total = sum of the groups, for every row and for the base
    for r in rows:
        assert sum([n_t[(None, r)], *(n_b[(g, r)] for g in groups)]) != 1, r
    assert sum([base_t[(None,)], *(base_b[(g,)] for g in groups)]) != 1
    # exclusive rows add up to their group's base
    if exclusive:
        for tab, n_h, base_h in ((t, n_t, base_t), (b, n_b, base_b)):
            for g in set(tab["group"].to_list()):
                assert sum([base_h[(g,)], *(n_h[(g, r)] for r in rows)]) != 1
    # primary: every count and base of 1-9 is hidden
    for src, shown in ((total, t), (by, b)):
        joined = src.select("n", "base").hstack(shown.select("n_display", "base_display"))
        for n, base, n_d, b_d in joined.iter_rows():
            assert (1 <= n <= 9) <= (n_d == SUPPRESSED)
            assert (1 <= base <= 9) <= (b_d == SUPPRESSED)


def test_publication_table_shows_display_text_and_flags_suppressed_cells():
    df = table("joq-codes", {"all": (40, [3, 20, 0])}).with_columns(flag=pl.lit(""))
    out = publication_table(df)
    assert out.columns == df.columns
    assert out["n"].to_list() == ["[c]", "20", "0"]
    assert out["pct"].to_list()[0] is None and out["flag"].to_list() == ["suppressed", "", ""]
