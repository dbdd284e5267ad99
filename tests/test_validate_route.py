"""Data contracts per layer and routing: every failure reported at once, no respondent text."""

from __future__ import annotations

import pytest
import survey_fixtures as sf

from pipeline.core.errors import ValidationFailed
from pipeline.survey.flow import prepare

SPEC = sf.spec()


def _prepare(tmp_path, people):
    return prepare(
        sf.surveymonkey_csv(tmp_path / "e.csv", people),
        "interactions_2025",
        suggest=False,
        key=b"k" * 32,
    )


def test_clean_reference_like_data_passes_every_layer(tmp_path):
    p = _prepare(tmp_path, [sf.youth(1), sf.allied(2)])
    assert [r.layer for r in p.validation] == ["mapped", "clean", "loop youth_sectors"]


def test_loop_is_long_one_row_per_respondent_and_sector_interacted_with(tmp_path):
    two = sf.youth(
        2,
        interacted_social_care="yes",
        purposes_social_care=["safeguarding"],
        top3_social_care=["safeguarding"],
        arrangement_social_care="informal",
        met_purposes_social_care="neutral",
    )
    p = _prepare(tmp_path, [sf.youth(1), two, sf.allied(3)])
    loop = p.data.loops["youth_sectors"]
    assert loop.select("_row", "item").rows() == [
        (3, "education"),
        (4, "education"),
        (4, "social_care"),
    ]
    assert "purposes__safeguarding" in loop.columns and "tenure" in loop.columns
    assert loop.filter(loop["item"] == "social_care")["arrangement"].to_list() == ["informal"]
    assert {r: f.height for r, f in p.data.routes.items()} == {"youth": 2, "allied": 1}


def test_every_routing_defect_is_reported_at_once_without_free_text(tmp_path):
    secret = "jo.bloggs@example.org"
    people = [
        sf.youth(1),
        # 1: allied respondent answering a youth-route question
        sf.allied(2, format=["email"]),
        # 2: loop answer for a sector not interacted with
        sf.youth(3, purposes_social_care=["referral"]),
        # 3: top-3 not a subset of purposes, 4: more than three
        sf.youth(4, top3_education=["training", "referral", "multi_agency", "safeguarding"]),
        # 5: free text where routing forbids it (the text must never be printed)
        sf.allied(5, effective_practice_text=secret),
    ]
    with pytest.raises(ValidationFailed) as err:
        _prepare(tmp_path, people)
    text = str(err.value)
    assert secret not in text
    checks = {
        (p.row, p.message.removeprefix("failed check '").rsplit("'", 1)[0])
        for p in err.value.problems
    }
    assert (4, "asked only on route 'youth'") in checks
    assert (5, "asked only when interacted_social_care in ['yes']") in checks
    assert (6, "top3_education ⊆ purposes_education") in checks
    assert (6, "top3_education: at most 3 choices") in checks
    assert (7, "asked only on route 'youth'") in checks
    assert len(err.value.problems) == 5  # N injected defects, N reported
