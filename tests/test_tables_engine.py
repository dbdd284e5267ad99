"""Given these respondents -> expect these table rows, one statistic at a time.

Each case is small enough to count by hand; the comments give the arithmetic.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from tables_factory import make_data, spec

from pipeline.survey.tables.definitions import TableSpec, load_tables
from pipeline.survey.tables.engine import TIDY_COLUMNS, compute_table, compute_tables

FORMATS = ["video_phone", "email", "in_person", "text_whatsapp"]
PURPOSES = [o.code for o in spec().options(spec().question("purposes"))]
YOUTH = {"route": "youth", "label": "youth-sector respondents"}


def table(**fields: Any) -> TableSpec:
    base = {
        "id": "figure-9-9",
        "title": "t",
        "population": YOUTH,
        "base": "answered",
        "base_text": "b",
        "exclusive": False,
        "source": "s",
    }
    return TableSpec.model_validate(base | fields)


def rows_of(frame: pl.DataFrame, *cols: str) -> list[tuple]:
    return [tuple(r) for r in frame.select(cols).iter_rows()]


def multi(qid: str, ticked: list[str], options: list[str]) -> dict[str, bool]:
    return {f"{qid}__{o}": o in ticked for o in options}


def test_frequency_answered_base_excludes_item_nonresponse_and_routed_out() -> None:
    data = make_data(
        [
            {"barriers": "yes"},
            {"barriers": "yes"},
            {"barriers": "no"},
            {"barriers": None},  # item non-response: not in an 'answered' base
            {"_route": "allied", "barriers": "yes"},  # routed out: never counted
        ]
    )
    t = table(question="barriers", statistic="frequency", exclusive=True)
    out = compute_table(data, t, suppress_base=1)
    assert out.columns == list(TIDY_COLUMNS)
    assert rows_of(out, "row", "n", "base") == [("yes", 2, 3), ("no", 1, 3)]
    assert out["pct"].to_list() == [pytest.approx(200 / 3), pytest.approx(100 / 3)]


def test_routed_base_keeps_nonresponse_in_the_denominator() -> None:
    data = make_data([{"barriers": "yes"}, {"barriers": None}])
    out = compute_table(data, table(question="barriers", statistic="frequency", base="routed"))
    assert rows_of(out, "row", "n", "base") == [("yes", 1, 2), ("no", 0, 2)]


def test_empty_categories_appear_with_zero() -> None:
    data = make_data([{"role": "leader"}] * 3)
    t = table(question="role", statistic="frequency", population={"label": "all"})
    out = compute_table(data, t)
    assert rows_of(out, "row", "n") == [
        ("leader", 3),
        ("practitioner", 0),
        ("volunteer", 0),
        ("commissioner", 0),
    ]


def test_multi_response_sums_over_100_and_answered_means_any_tick() -> None:
    data = make_data(
        [
            multi("format", ["email", "in_person"], FORMATS),
            multi("format", ["email"], FORMATS),
            {f"format__{o}": None for o in FORMATS},  # skipped the question
        ]
    )
    out = compute_table(data, table(question="format", statistic="multi_response"), suppress_base=1)
    got = dict(rows_of(out, "row", "n"))
    assert got == {"video_phone": 0, "email": 2, "in_person": 1, "text_whatsapp": 0}
    assert set(out["base"].to_list()) == {2}
    assert out["pct"].sum() == pytest.approx(150.0)  # 100% + 50%: sums exceed 100


def test_loop_shown_base_by_item_and_top3() -> None:
    # education: 3 interacted (one left top3 blank: still in the 'shown' base); health care: 1.
    rows = [
        {"interacted_education": "yes", **multi("top3_education", ["referral"], PURPOSES)},
        {"interacted_education": "yes", **multi("top3_education", ["referral", "training"], PURPOSES)},
        {"interacted_education": "yes"},
        {"interacted_education": "no", "interacted_health_care": "yes",
         **multi("top3_health_care", ["training"], PURPOSES)},
    ]  # fmt: skip
    t = table(question="top3", statistic="top3", base="shown", group_by=["item"],
              items=["education", "health_care"])  # fmt: skip
    out = compute_table(make_data(rows), t)
    edu = out.filter(pl.col("group") == "education")
    assert dict(rows_of(edu, "row", "n"))["referral"] == 2
    assert set(edu["base"].to_list()) == {3}
    hc = out.filter(pl.col("group") == "health_care")
    assert dict(rows_of(hc, "row", "n"))["training"] == 1
    assert set(hc["base"].to_list()) == {1}
    assert out["group"].unique(maintain_order=True).to_list() == ["education", "health_care"]


def test_answered_base_for_top3_drops_blank_answers() -> None:
    rows = [
        {"interacted_education": "yes", **multi("top3_education", ["referral"], PURPOSES)},
        {"interacted_education": "yes"},
    ]
    t = table(question="top3", statistic="top3", base="answered", group_by=["item"],
              items=["education"])  # fmt: skip
    out = compute_table(make_data(rows), t)
    assert set(out["base"].to_list()) == {1}


def test_likert_nets_and_distribution() -> None:
    answers = ["strongly_agree", "agree", "agree", "neutral", "disagree", "dont_know", None]
    data = make_data([{"_route": "allied", "allied_interacted": "yes", "allied_met_purposes": a}
                      for a in answers])  # fmt: skip
    allied = {"route": "allied", "label": "allied"}
    nets = compute_table(data, table(question="allied_met_purposes", statistic="likert_net",
                                     population=allied, group="allied"))  # fmt: skip
    assert rows_of(nets, "group", "row", "n", "base") == [
        ("allied", "agree", 3, 6),
        ("allied", "neutral", 1, 6),
        ("allied", "disagree", 1, 6),  # 'don't know' stays in the base, in no net
    ]
    dist = compute_table(data, table(question="allied_met_purposes", statistic="likert",
                                     population=allied))  # fmt: skip
    assert dict(rows_of(dist, "row", "n")) == {
        "strongly_agree": 1, "agree": 2, "neutral": 1, "disagree": 1,
        "strongly_disagree": 0, "dont_know": 1,
    }  # fmt: skip


def test_formality_pools_interactions_and_crosstab_rows_with_where() -> None:
    rows = [
        {"role": "practitioner", "tenure": "over_5", "interacted_education": "yes",
         "arrangement_education": "informal", "interacted_health_care": "yes",
         "arrangement_health_care": "formal"},
        {"role": "leader", "tenure": "over_5", "interacted_education": "yes",
         "arrangement_education": "combination"},
        {"role": "practitioner", "tenure": "1_3", "interacted_education": "yes",
         "arrangement_education": "informal"},  # filtered out: not over five years
    ]  # fmt: skip
    t = table(
        question="arrangement", statistic="crosstab", measure="formality", unit="interactions",
        population={"route": "youth", "filter": {"tenure": ["over_5"]}, "label": "x"},
        rows=[{"id": "inf_p", "codes": ["informal"], "where": {"role": ["practitioner"]}},
              {"id": "inf_l", "codes": ["informal"], "where": {"role": ["leader"]}}],
    )  # fmt: skip
    out = compute_table(make_data(rows), t)
    assert rows_of(out, "row", "n", "base") == [("inf_p", 1, 2), ("inf_l", 0, 1)]


def test_crosstab_by_banded_background_variable() -> None:
    rows = [
        {"tenure": "under_1", **multi("benefits", ["capacity_building"], ["capacity_building", "referral"])},
        {"tenure": "over_5", **multi("benefits", ["referral"], ["capacity_building", "referral"])},
        {"tenure": "3_5", **multi("benefits", ["capacity_building"], ["capacity_building", "referral"])},
    ]  # fmt: skip
    t = table(
        question="benefits", statistic="crosstab", measure="multi_response", group_by=["tenure"],
        bands={"tenure": [{"id": "under_1", "label": "<1", "codes": ["under_1"]},
                          {"id": "one_plus", "label": "1+", "codes": ["1_3", "3_5", "over_5"]}]},
        rows=[{"id": "capacity_building"}],
    )  # fmt: skip
    out = compute_table(make_data(rows), t)
    assert rows_of(out, "group", "n", "base") == [("under_1", 1, 1), ("one_plus", 1, 2)]


def test_ratio_counts_exactly_one_top_purpose_and_zero_informal_is_null() -> None:
    def inter(arr: str, top: list[str]) -> dict[str, Any]:
        return {"interacted_education": "yes", "arrangement_education": arr,
                **multi("top3_education", top, PURPOSES)}  # fmt: skip

    rows = [
        inter("formal", ["referral"]),
        inter("informal", ["referral"]),
        inter("informal", ["referral"]),
        inter("combination", ["referral"]),  # in the base, neither numerator nor denominator
        inter("formal", ["referral", "training"]),  # two top purposes: not counted
        inter("formal", ["training"]),  # training: formal but no informal -> ratio undefined
    ]
    t = table(question="arrangement", statistic="ratio", unit="interactions",
              ratio={"by": "top3", "numerator": ["formal"], "denominator": ["informal"],
                     "exactly_one": True},
              rows=[{"id": "referral"}, {"id": "training"}])  # fmt: skip
    out = compute_table(make_data(rows), t, suppress_base=1, low_base=1)
    assert rows_of(out, "row", "n", "base", "ratio") == [
        ("referral", 1, 4, 0.5),
        ("training", 1, 1, None),
    ]


def test_cooccurrence_and_count_at_least() -> None:
    items = [
        "education",
        "social_care",
        "health_care",
        "youth_justice",
        "youth_sector",
        "other_sectors",
    ]

    def resp(yes: set[str]) -> dict[str, str]:
        return {f"interacted_{i}": "yes" if i in yes else "no" for i in items}

    rows = [
        resp({"education", "social_care", "health_care", "youth_sector"}),  # 4 sectors
        resp({"social_care"}),  # targeted without education
        resp({"education", "youth_sector"}),
        {**resp({"education"}), "interacted_other_sectors": None},  # did not answer all six
    ]  # fmt: skip
    co = table(question="interacted", statistic="cooccurrence", exclusive=False,
               cooccurrence={"given": ["social_care", "health_care"], "target": "education"})  # fmt: skip
    out = compute_table(make_data(rows), co)
    assert rows_of(out, "row", "n", "base") == [
        ("social_care", 1, 2),
        ("health_care", 1, 1),
        ("any", 1, 2),
    ]
    least = table(question="interacted", statistic="count_at_least", exclusive=True,
                  at_least={"k": 4, "id": "four_plus"})  # fmt: skip
    out = compute_table(make_data(rows), least)
    assert rows_of(out, "row", "n", "base") == [("four_plus", 1, 3), ("fewer_than_4", 2, 3)]


def test_extra_group_and_fixed_group() -> None:
    rows = [
        {"interacted_education": "yes", **multi("purposes_education", ["referral"], PURPOSES)},
        {"_route": "allied", "allied_interacted": "yes", **multi("allied_purposes", ["training"], PURPOSES)},
    ]  # fmt: skip
    t = table(
        question="purposes", statistic="multi_response", base="shown", group_by=["item"],
        items=["education"],
        extra_groups=[{"group": "allied", "label": "Allied", "question": "allied_purposes",
                       "population": {"route": "allied", "label": "allied"}, "base": "shown",
                       "base_text": "allied who interacted"}],
    )  # fmt: skip
    out = compute_table(make_data(rows), t)
    assert out["group"].unique(maintain_order=True).to_list() == ["education", "allied"]
    allied = out.filter(pl.col("group") == "allied")
    assert dict(rows_of(allied, "row", "n"))["training"] == 1


def test_low_base_flag_and_suppression_in_tables() -> None:
    data = make_data([{"barriers": "yes"}] * 9)
    out = compute_table(data, table(question="barriers", statistic="frequency"))
    assert out["flag"].to_list() == ["suppressed", "suppressed"]
    assert out["pct"].null_count() == 2
    assert out["n"].to_list() == [9, 0]  # counts stay for analysis; disclosure acts on display
    out = compute_table(
        make_data([{"barriers": "yes"}] * 12), table(question="barriers", statistic="frequency")
    )
    assert out["flag"].to_list() == ["low base", "low base"]


def test_whole_spec_computes_on_tiny_data_in_order() -> None:
    tables = load_tables("interactions_2025", spec())
    out = compute_tables(make_data([{"barriers": "yes", "_sector": "youth"}]), tables)
    assert list(out) == [t.id for t in tables]
    for frame in out.values():
        assert frame.columns == list(TIDY_COLUMNS)
