"""Figure F-2: postcode -> country by postcode area, given rows -> expected table.

Blank and invalid postcodes are not in the base (they are counted for a note); lower case and a
missing space are still valid; a valid-looking postcode with an unknown area is 'not recognised'.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from tables_factory import make_data, spec

from pipeline.core.errors import SpecError
from pipeline.core.safety.redact import _AREAS
from pipeline.survey.report.context import data_notes
from pipeline.survey.tables.definitions import TablesModel, TableSpec, check_against, load_tables
from pipeline.survey.tables.engine import TIDY_COLUMNS, compute_table
from pipeline.survey.tables.postcodes import LOOKUP_PATH, excluded, load_postcode_areas

ALL = {"label": "all usable respondents"}


def postcode_table(**fields: object) -> TableSpec:
    base = {
        "id": "figure-F-2",
        "title": "t",
        "question": "postcode",
        "population": ALL,
        "base": "answered",
        "base_text": "respondents who gave a valid postcode",
        "statistic": "postcode_country",
        "exclusive": False,
        "source": "s",
    }
    return TableSpec.model_validate(base | fields)


GIVEN = [
    {"postcode": "M1 1AE"},  # England
    {"postcode": "m1 1ae"},  # lower case: England
    {"postcode": "CF241AA"},  # no space: Wales
    {"_route": "allied", "postcode": " eh7  5bb "},  # allied, padded, double space: Scotland
    {"postcode": "BT12 4AB"},  # Northern Ireland
    {"postcode": "JE2 3AB"},  # Jersey: outside the UK
    {"postcode": "QQ1 1AA"},  # postcode-shaped, unknown area: not recognised
    {"postcode": "KS3"},  # invalid: not in the base
    {"postcode": "don't know"},  # invalid
    {"postcode": "M1 1CE"},  # invalid inward letter C
    {"postcode": ""},  # blank
    {"postcode": "   "},  # blank
    {"postcode": None},  # blank
]


def test_default_rows_count_each_country_on_valid_postcodes_only() -> None:
    out = compute_table(make_data(GIVEN), postcode_table(), suppress_base=1)
    assert out.columns == list(TIDY_COLUMNS)
    assert [tuple(r) for r in out.select("row", "n", "base").iter_rows()] == [
        ("england", 2, 7),
        ("wales", 1, 7),
        ("scotland", 1, 7),
        ("northern_ireland", 1, 7),
        ("outside_uk", 1, 7),
        ("not_recognised", 1, 7),
    ]
    assert out["row_label"].to_list()[:2] == ["England", "Wales"]


def test_declared_figure_f2_has_the_outside_england_net_verify_compares() -> None:
    t = load_tables("interactions_2025", spec()).table("figure-F-2")
    assert t.published == "figure-F-2" and t.group is None
    out = compute_table(make_data(GIVEN), t, suppress_base=1)
    got = dict(zip(out["row"].to_list(), out["n"].to_list(), strict=True))
    assert got["outside_england"] == 4  # Wales + Scotland + NI + Jersey; not 'not recognised'
    assert got["england"] == 2 and set(out["base"].to_list()) == {7}
    assert out["group"].null_count() == out.height


def test_blank_and_invalid_are_counted_for_the_note_never_printed() -> None:
    data = make_data(GIVEN)
    counts = excluded(data.responses, "postcode")
    assert (counts.blank, counts.invalid) == (3, 3)
    t = load_tables("interactions_2025", spec()).table("figure-F-2")
    (note,) = data_notes(t, data)
    assert "3 respondent(s) left the postcode blank" in note and "3 gave an answer" in note
    out = compute_table(data, t)
    text = " ".join(str(v) for v in out.to_dicts() for v in v.values())
    for r in GIVEN:
        pc = str(r["postcode"] or "").strip()
        if len(pc) > 3:
            assert pc not in text and pc.upper() not in text


def test_population_filter_applies_before_the_base() -> None:
    t = postcode_table(population={"route": "youth", "label": "youth"})
    out = compute_table(make_data(GIVEN), t, suppress_base=1)
    assert out.filter(pl.col("row") == "scotland")["n"].item() == 0  # the allied one is out
    assert out["base"].unique().to_list() == [6]


def test_spec_rules_for_postcode_country() -> None:
    with pytest.raises(ValueError, match="base 'answered'"):
        postcode_table(base="routed")
    bad = postcode_table(question="area", rows=[{"id": "x", "codes": ["atlantis"]}])
    model = TablesModel(survey="interactions_2025", version="1", tables=(bad,))
    with pytest.raises(SpecError) as err:
        check_against(model, spec(), Path("tables.yaml"))
    text = repr(err.value) + str(err.value) + repr(getattr(err.value, "problems", ""))
    assert "cannot use a single question" in text
    assert "unknown code 'atlantis'" in text


def test_lookup_covers_exactly_the_uk_postcode_areas_and_notes_cross_border_ones() -> None:
    areas = load_postcode_areas()
    assert set(areas.country_of) == set(_AREAS)
    for a in ("CH", "SY", "HR", "LD", "NP", "TD", "CA", "DG"):
        assert areas.model.areas[a].note, a
    assert {areas.country_of[a] for a in ("GY", "JE", "IM")} == {"outside_uk"}
    assert areas.country_of["BT"] == "northern_ireland" and areas.country_of["CF"] == "wales"


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"areas": {"AB": {"country": "atlantis"}}}, "unknown country"),
        ({"areas": {"A1": {"country": "england"}}}, "upper-case letters"),
        ({"areas": {"AB": {"country": "scotland", "colour": "blue"}}}, "colour"),
        ({"lookup": "something_else"}, "lookup"),
    ],
)
def test_bad_lookup_entries_raise_spec_error(tmp_path: Path, patch: dict, needle: str) -> None:
    data = yaml.safe_load(LOOKUP_PATH.read_text(encoding="utf-8")) | patch
    path = tmp_path / "postcode_areas.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(SpecError, match=needle):
        load_postcode_areas(path)
