"""The paths written for 1M-row exports give exactly what the plain paths give.

Each fast or memory-saving path is checked against the straightforward computation it replaced,
written out here, on the reference export (shuffled, duplicated or cut into tiny chunks so the
new path really runs).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl
import pytest

from pipeline.survey.clean import flag_removals
from pipeline.survey.flow import Prepared, prepare
from pipeline.survey.route import GATE, SurveyData, background_columns, loop_long, route
from pipeline.survey.tables.definitions import load_tables
from pipeline.survey.tables.engine import compute_table
from pipeline.survey.tables.frames import population_frame

REF = Path("data/reference/interactions_2025_export.csv")
LOOP = "youth_sectors"


@cache
def _reference() -> Prepared:
    return prepare(REF, "interactions_2025", suggest=False, key=b"k" * 32)


def _stacked_then_sorted(responses: pl.DataFrame, spec, loop: str) -> pl.DataFrame:
    """The loop long frame as first written: one renamed copy per item, stacked, then sorted."""
    background = [c for c in background_columns(spec) if c in responses.columns]
    parts = []
    for item in spec.model.loops[loop].items:
        suffix = f"_{item.code}"
        renames = {
            c.name: c.instance.id[: -len(suffix)] + c.name[len(c.instance.id) :]
            for c in spec.columns
            if c.instance.item is not None
            and c.instance.item.code == item.code
            and c.instance.question.loop == loop
        }
        part = responses.select(
            "_respondent",
            "_row",
            "_route",
            *background,
            *[pl.col(k).alias(v) for k, v in renames.items()],
        ).with_columns(item=pl.lit(item.code))
        parts.append(part.filter(pl.col(GATE) == "yes"))
    long = pl.concat(parts)
    front = ["_respondent", "_row", "_route", "item"]
    return long.select(front + [c for c in long.columns if c not in front]).sort(["_row", "item"])


def test_loop_long_gathered_in_order_equals_stacking_every_item_and_sorting():
    p = _reference()
    shuffled = p.cleaned.usable.sample(fraction=1.0, shuffle=True, seed=7)
    expected = _stacked_then_sorted(shuffled, p.spec, LOOP)
    got = loop_long(shuffled, p.spec, LOOP)
    assert got.height > shuffled.height  # several items per respondent: the gather really ran
    assert got.equals(expected) and got.schema == expected.schema


def test_loop_long_of_no_respondents_is_empty_with_the_same_columns():
    p = _reference()
    empty = p.cleaned.usable.clear()
    got = loop_long(empty, p.spec, LOOP)
    assert got.height == 0 and got.schema == _stacked_then_sorted(empty, p.spec, LOOP).schema


def test_routes_and_loops_are_computed_on_each_read_and_not_held():
    p = _reference()
    data = route(p.cleaned.usable, p.spec)
    assert list(data.routes) == list(p.spec.routes) and list(data.loops) == [LOOP]
    for r, frame in data.routes.items():
        assert frame.equals(p.cleaned.usable.filter(pl.col("_route") == r))
    assert data.loops[LOOP].equals(data.loops[LOOP])  # derived again, identically
    with pytest.raises(KeyError):
        data.loops["no_such_loop"]


def test_tables_count_populations_through_a_mask_as_over_the_filtered_respondents():
    p = _reference()
    checked = 0
    for t in load_tables("interactions_2025"):
        if t.extra_groups:  # their parts have populations of their own
            continue
        only = population_frame(p.data.responses, t.population)
        expected = compute_table(SurveyData(p.spec, only), t)
        assert compute_table(p.data, t).equals(expected), t.id
        checked += 1
    assert checked > 20


def _identical_by_whole_window(f: pl.DataFrame, spec) -> pl.DataFrame:
    """Rule 3 as first written: one window over every answer column of every row."""
    keys = ["_collector", *[c.name for c in spec.columns]]
    live = pl.col("_rule").is_null()
    first_live = pl.col("_order").filter(live).min().over(keys)
    first_row = pl.col("_row").filter(pl.col("_order") == first_live).first().over(keys)
    same = live & (pl.col("_order") != first_live)
    return f.with_columns(
        _rule=pl.when(same).then(pl.lit("duplicate_identical_answers")).otherwise(pl.col("_rule")),
        _detail=pl.when(same)
        .then(pl.format("identical answers to row {}, same collector", first_row))
        .otherwise(pl.col("_detail")),
    )


def test_identical_answers_found_by_row_hash_equal_the_whole_frame_window(monkeypatch):
    from pipeline.survey import clean

    p = _reference()
    raw = p.ingested.frame
    n = raw.height
    # every response again from the same collector (a duplicate of each) and again from
    # another collector (not a duplicate), all with new respondent ids and later rows
    twins = raw.with_columns(
        pl.col("_row") + n, pl.format("r_twin{}", pl.col("_row")).alias("_respondent")
    )
    elsewhere = raw.with_columns(
        pl.col("_row") + 2 * n,
        pl.format("r_other{}", pl.col("_row")).alias("_respondent"),
        pl.lit("elsewhere").alias("_collector"),
    )
    frame = pl.concat([raw, twins, elsewhere])
    got = flag_removals(frame, p.spec)
    monkeypatch.setattr(
        clean, "_flag_identical", lambda f, keys: _identical_by_whole_window(f, p.spec)
    )
    expected = flag_removals(frame, p.spec)
    assert got.equals(expected)
    assert got.filter(pl.col("_rule") == "duplicate_identical_answers").height >= n - 30


def test_a_file_read_in_row_chunks_is_one_contiguous_frame(tmp_path, monkeypatch):
    import survey_fixtures as sf

    from pipeline.core.reader import grid
    from pipeline.survey.ingest import read_export

    p = sf.surveymonkey_csv(tmp_path / "big.csv", [sf.youth(i) for i in range(1, 30)])
    whole = read_export(p, sf.spec(), key=b"k" * 32)
    monkeypatch.setattr(grid, "CHUNK_BYTES", 4000)
    assert len(grid.read_grid(p).parts) > 3
    chunked = read_export(p, sf.spec(), key=b"k" * 32)
    assert chunked.frame.equals(whole.frame) and chunked.frame.n_chunks() == 1
