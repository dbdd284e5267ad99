"""Cleaning ledger: every raw row accounted for; the funnel reconciles; rules are the spec's."""

from __future__ import annotations

import polars as pl
import survey_fixtures as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.survey.clean import clean, load_recodes
from pipeline.survey.ingest import read_export

SPEC = sf.spec()
RECODES = load_recodes(SPEC)


def _clean(tmp_path, people, name="e.csv"):
    ingested = read_export(sf.surveymonkey_csv(tmp_path / name, people), SPEC, key=b"k" * 32)
    return ingested, clean(ingested.frame, SPEC, RECODES)


def _funnel(cleaned) -> dict[str, int]:
    return dict(cleaned.funnel.iter_rows())


def test_ledger_has_exactly_one_row_per_raw_response(tmp_path):
    ing, c = _clean(tmp_path, [sf.youth(1), sf.partial(), sf.allied(2)])
    assert c.ledger["row"].to_list() == ing.frame["_row"].to_list()
    assert c.ledger.columns == ["row", "respondent", "rule", "action", "before", "after"]


def test_partial_means_nothing_answered_after_the_background_block(tmp_path):
    _, c = _clean(tmp_path, [sf.youth(1), sf.partial(), sf.partial(postcode=None, role=None)])
    assert _funnel(c)["removed_partial"] == 2
    assert set(c.ledger.filter(pl.col("action") == "removed")["rule"]) == {"partial_response"}


def test_same_respondent_id_keeps_the_earliest(tmp_path):
    a = sf.youth(1, _id=55555555555)
    b = sf.youth(2, _id=55555555555)
    _, c = _clean(tmp_path, [a, b])
    removed = c.ledger.filter(pl.col("action") == "removed")
    assert removed["rule"].to_list() == ["duplicate_respondent_id"]
    assert removed["row"].to_list() == [4] and "row 3" in removed["after"][0]


def test_identical_answers_from_the_same_collector_are_one_response(tmp_path):
    a = sf.youth(1)
    twin = dict(a, _id=77777777777)
    other_collector = dict(a, _id=88888888888, _collector="400000002")
    _, c = _clean(tmp_path, [a, twin, other_collector])
    assert _funnel(c)["removed_duplicate"] == 1
    assert c.usable.height == 2


def test_reviewed_other_text_is_recoded_and_unreviewed_listed(tmp_path):
    people = [
        sf.allied(1, sector="other", sector__other_text="NHS CAMHS"),
        sf.allied(2, sector="other", sector__other_text="Something nobody has reviewed"),
    ]
    _, c = _clean(tmp_path, people)
    f = _funnel(c)
    assert (f["other_sector"], f["other_recoded"]) == (2, 1)
    assert c.usable["sector"].to_list() == ["healthcare", "other"]
    assert c.other_review["status"].to_list() == ["reviewed", "unreviewed"]
    recoded = c.ledger.filter(pl.col("rule") == "recode_other_sector")
    assert recoded["before"].to_list() == ["sector=other"] and recoded["after"].to_list() == [
        "sector=healthcare"
    ]


def test_suggester_is_offered_the_other_texts_and_option_labels(tmp_path):
    seen = {}

    def suggest(texts, options):
        seen["texts"], seen["codes"] = list(texts), [o.code for o in options]
        return [("housing", 0.9) for _ in texts]

    ing = read_export(
        sf.surveymonkey_csv(
            tmp_path / "s.csv", [sf.allied(1, sector="other", sector__other_text="Housing assoc")]
        ),
        SPEC,
        key=b"k" * 32,
    )
    c = clean(ing.frame, SPEC, RECODES, suggest)
    assert seen["texts"] == ["Housing assoc"] and "other" not in seen["codes"]
    assert c.other_review["suggested"].to_list() == ["housing"]


KINDS = st.sampled_from(["youth", "allied", "partial", "twin", "other"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(KINDS, min_size=1, max_size=25))
def test_funnel_reconciles_on_random_exports(tmp_path, kinds):
    people = []
    for i, k in enumerate(kinds):
        if k == "youth":
            people.append(sf.youth(i))
        elif k == "allied":
            people.append(sf.allied(i))
        elif k == "partial":
            people.append(sf.partial(postcode=f"B{i} 1AA"))
        elif k == "other":
            people.append(
                sf.allied(
                    i, sector="other", sector__other_text="NHS CAMHS" if i % 2 else f"text {i}"
                )
            )
        else:
            people.append(dict(people[-1], _id=90000000000 + i) if people else sf.youth(i))
    _, c = _clean(tmp_path, people, f"p{len(kinds)}.csv")
    f = _funnel(c)
    assert f["raw"] == len(people) == c.ledger.height
    assert f["raw"] == f["removed_duplicate"] + f["removed_partial"] + f["usable"]
    assert f["usable"] == f["route_youth"] + f["route_allied"]
    assert c.ledger["row"].n_unique() == len(people)
    # idempotent: cleaning the clean data removes nothing more and recodes nothing new
    again = clean(c.usable.drop("_route"), SPEC, RECODES)
    assert again.usable.height == c.usable.height
    assert again.usable["sector"].to_list() == c.usable["sector"].to_list()
    # recoding preserves row count and pseudonyms
    kept = set(c.ledger.filter(pl.col("action") != "removed")["respondent"])
    assert kept == set(c.usable["_respondent"])
