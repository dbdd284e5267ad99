"""Quotes in the survey report: representative, deterministic, redacted, reviewable, warned."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from tables_factory import make_data, spec

from pipeline.core.errors import SpecError
from pipeline.core.safety.html import assert_rendered_clean
from pipeline.survey.report.quotes import (
    Exclusion,
    ExclusionsModel,
    load_exclusions,
    select_quotes,
    short_label,
)
from pipeline.survey.report.render import write_survey_report
from pipeline.survey.tables.definitions import load_tables
from pipeline.survey.tables.engine import compute_tables
from pipeline.survey.verify import check_published

PERSONAL = (
    "Ring Jo Okafor on 07700 900123 or email jo.okafor@example.org, "
    "our hub is at m1 1ae near the station."
)
HOSTILE = '<script>alert(1)</script> {{ 7*7 }} " onmouseover="x {% if 1 %}'


def pseudonym(i: int) -> str:
    return f"r_{i:012x}"


def youth(i: int, **answers: Any) -> dict[str, Any]:
    return {"_respondent": pseudonym(i), "_route": "youth", "sector": "youth", **answers}


def people(texts: list[str], qid: str = "barriers_text") -> list[dict[str, Any]]:
    """Twelve youth respondents (a group of 12: no warning); the first ones answer ``qid``."""
    return [youth(i, **({qid: texts[i]} if i < len(texts) else {})) for i in range(12)]


def test_personal_details_and_deny_list_names_are_redacted() -> None:
    data = make_data(people([PERSONAL]))
    (quote,) = select_quotes(data, names=["Jo", "Okafor"], questions=["barriers_text"])
    for secret in ("Jo", "Okafor", "07700", "900123", "example.org", "m1 1ae"):
        assert secret not in quote.text
    for placeholder in ("[name]", "[phone]", "[email]", "[postcode]"):
        assert placeholder in quote.text
    assert quote.warning == "" and quote.source == "Youth sector respondent"


def test_excluded_pseudonym_is_never_quoted() -> None:
    texts = ["Partners do not return our calls quickly.", "Too many forms to fill in every time.",
             "Staff turnover means we lose our contacts."]  # fmt: skip
    data = make_data(people(texts))
    everyone = select_quotes(data, questions=["barriers_text"])
    assert {q.ref for q in everyone} == {pseudonym(0), pseudonym(1), pseudonym(2)}
    keep_out = ExclusionsModel(
        survey="interactions_2025",
        excluded=(Exclusion(respondent=pseudonym(1), reason="names a school"),),
    )
    quoted = select_quotes(data, exclusions=keep_out, questions=["barriers_text"])
    assert pseudonym(1) not in {q.ref for q in quoted} and len(quoted) == 2
    other_question = ExclusionsModel(
        survey="interactions_2025",
        excluded=(Exclusion(respondent=pseudonym(1), reason="other q", question="stopped_text"),),
    )
    assert len(select_quotes(data, exclusions=other_question, questions=["barriers_text"])) == 3


def test_quote_from_a_small_sector_group_carries_the_warning() -> None:
    rows = people([])
    rows.append({"_respondent": pseudonym(99), "_route": "allied", "sector": "social_care",
                 "allied_practice_text": "A named youth worker we can call about a referral."})  # fmt: skip
    (quote,) = select_quotes(make_data(rows), questions=["allied_practice_text"])
    assert quote.source == "Allied sectors respondent (Social care)"
    assert quote.warning == (
        "Social care: 1 respondent — quote could identify the respondent; check before publishing"
    )


def test_selection_is_deterministic_medium_length_and_skips_near_copies() -> None:
    texts = [
        "No.",
        "Different data systems, we cant see what social care has recorded.",
        "Differnet data systems, we cant see what social care has recorded.",
        "Capacity. Partners are overstretched and do not return calls.",
        "Funding is short term so projects end before trust is built.",
        "Nobody owns the relationship when a key person leaves the service.",
        "Meetings are always in school hours when our staff are not working, and the venues "
        "are far away from where we run sessions, so we rarely manage to attend any of them "
        "and the relationship never develops beyond an email now and then.",
        "Thresholds for referral are unclear and change every year.",
    ]
    data = make_data(people(texts))
    first = select_quotes(data, questions=["barriers_text"], seed=7)
    assert first == select_quotes(data, questions=["barriers_text"], seed=7)
    assert len(first) == 3
    chosen = [q.text for q in first]
    assert "No." not in chosen and texts[6] not in chosen  # shortest and longest are out
    assert not {texts[1], texts[2]} <= set(chosen)  # a typo'd copy is never quoted twice


def test_exclusions_file_is_validated(tmp_path: Path) -> None:
    assert load_exclusions(spec(), tmp_path / "missing.yaml").excluded == ()
    assert load_exclusions(spec()).survey == "interactions_2025"
    bad = tmp_path / "quote_exclusions.yaml"
    bad.write_text("survey: interactions_2025\nexcluded:\n  - {respondent: Jo Okafor, reason: x}\n")
    with pytest.raises(SpecError):
        load_exclusions(spec(), bad)
    bad.write_text(
        "survey: interactions_2025\nexcluded:\n"
        "  - {respondent: r_0123456789ab, reason: names a school, question: sector}\n"
    )
    with pytest.raises(SpecError):
        load_exclusions(spec(), bad)


def test_short_label() -> None:
    assert short_label("Youth Justice e.g. police, probation and legal services") == "Youth Justice"
    assert short_label("Other (please specify sector)") == "Other"


def test_hostile_quote_is_escaped_in_both_reports(tmp_path: Path) -> None:
    rows = people([HOSTILE + " and more words here to be quoted"])
    rows.append({"_respondent": pseudonym(50), "_route": "allied", "sector": "housing",
                 "allied_benefits_text": HOSTILE})  # fmt: skip
    data = make_data(rows)
    quotes = [q.as_dict() for q in select_quotes(data)]
    assert any(q["warning"] for q in quotes)
    tables_spec = load_tables("interactions_2025", spec())
    tables = compute_tables(data, tables_spec)
    published = load_published_stub()
    check = check_published(tables, published, tables_spec=tables_spec)
    funnel = pl.DataFrame({"step": ["raw", "usable"], "count": [13, 13]})
    ledger = pl.DataFrame({"row": [2], "respondent": ["p"], "rule": ["r"], "action": ["kept"],
                           "before": [""], "after": [""]})  # fmt: skip
    write_survey_report(
        tmp_path, data=data, tables=tables, check=check, funnel=funnel, ledger=ledger,
        manifest={"survey": "interactions_2025", "generated_at": "2025-02-06T00:00:00Z"},
        spec=spec(), tables_spec=tables_spec, profile="analysis", synthetic=True, quotes=quotes,
    )  # fmt: skip
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert_rendered_clean(html)
    assert "&lt;script&gt;" in html and '" onmouseover="' not in html
    assert "Disclosure check: Housing: 1 respondent" in html
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)<script", md, re.IGNORECASE)  # escaped: prints literally
    assert not re.search(r"(?<!\\)\{[{%]", md)
    assert "\\<script\\>" in md
    assert "**Disclosure check:** Housing: 1 respondent" in md


def load_published_stub() -> Any:
    from pipeline.survey.published import Published, PublishedModel

    model = {"survey": "interactions_2025", "source": "s", "figures": [], "reconciliations": []}
    return Published(PublishedModel.model_validate(model), Path("p.yaml"))
