"""The published figures file: it loads, its ids are unique, and its rows are the spec's codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.errors import SpecError
from pipeline.survey.published import load_published
from pipeline.survey.questionnaire import load_questionnaire

SURVEY = "interactions_2025"
OPTION_STATISTICS = ("frequency", "multi_response", "top3")


@pytest.fixture(scope="module")
def published():
    return load_published(SURVEY)


def test_loads_with_every_figure_listed_in_the_report(published) -> None:
    ids = {f.id for f in published.figures}
    expected = {"table-F-1", "table-F-2", "table-F-3", "table-F-4", "table-3-1", "figure-4-1"}
    expected |= {f"figure-F-{i}" for i in range(1, 11)} | {f"figure-5-{i}" for i in range(1, 5)}
    expected |= {"figure-6-1", "text-2.25", "text-2.26", "text-6.20", "text-6.22", "text-3.21"}
    assert expected <= ids


def test_figure_ids_are_unique(published) -> None:
    ids = [f.id for f in published.figures]
    assert len(ids) == len(set(ids))


def test_every_option_row_is_a_spec_option_code(published) -> None:
    spec = load_questionnaire(SURVEY)
    for v in published.values():
        if v.statistic not in OPTION_STATISTICS or v.question is None:
            continue
        codes = {o.code for o in spec.options(spec.question(v.question))}
        assert v.row in codes, f"{v.figure_id}: row '{v.row}' is not an option of {v.question}"


def test_likert_net_rows_are_the_spec_nets(published) -> None:
    spec = load_questionnaire(SURVEY)
    nets = set(spec.model.likert_nets["agreement"])
    rows = {v.row for v in published.values() if v.statistic == "likert_net"}
    assert rows <= nets


def test_groups_of_loop_questions_are_loop_items(published) -> None:
    spec = load_questionnaire(SURVEY)
    items = {i.code for i in spec.model.loops["youth_sectors"].items}
    for v in published.values():
        q = spec.question(v.question) if v.question else None
        if q is not None and q.loop and v.statistic in (*OPTION_STATISTICS, "likert_net"):
            assert v.group in items, f"{v.figure_id}: group '{v.group}' is not a loop item"


def test_printed_counts_match_printed_percentages_on_the_printed_base(published) -> None:
    """Where a figure prints n and a base, n/base rounds to the printed % (Table F-2 excepted)."""
    for v in published.values():
        if v.n is None or v.pct is None or v.base is None:
            continue
        assert int(100 * v.n / v.base + 0.5) == v.pct, f"{v.figure_id} {v.row}"


def test_table_f1_counts_sum_to_the_usable_base(published) -> None:
    f = published.figure("table-F-1")
    assert sum(v.n or 0 for v in f.values) == f.base == 296


def test_values_iterator_flattens_with_figure_context(published) -> None:
    v = next(v for v in published.values() if v.figure_id == "figure-5-3")
    assert (v.row, v.base, v.ratio) == ("regular_services", 77, 0.49)
    assert v.cite == "Figure 5-3"


def test_invalid_file_raises_spec_error_naming_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "survey: s\nsource: x\nfigures:\n  - id: table-F-1\n    title: t\n    cite: c\n"
        "    population: p\n    base: 1\n    statistic: frequency\n    colour: red\n"
        "    values: [{row: a, label: b, pct: 1}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as err:
        load_published(bad)
    assert "bad.yaml" in str(err.value) and "colour" in str(err.value)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    fig = (
        "  - id: text-2.20\n    title: t\n    cite: c\n    population: p\n    base: null\n"
        "    statistic: count\n    values: [{row: a, label: b, n: 1}]\n"
    )
    bad = tmp_path / "dupe.yaml"
    bad.write_text("survey: s\nsource: x\nfigures:\n" + fig + fig, encoding="utf-8")
    with pytest.raises(SpecError, match="duplicate figure ids"):
        load_published(bad)
