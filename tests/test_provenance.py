"""Provenance (issue 11 item 5): every input that decides a figure is hashed in manifest.json,
with a fingerprint of the pseudonym key (never the key), and quote exclusions made under another
key are refused instead of silently letting excluded respondents back into the quotes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from test_joq_workflow import month  # noqa: F401  (the tiny JOQ month fixture)

from pipeline.core.errors import SpecError
from pipeline.core.paths import REFERENCE_DATA, SCHEMAS
from pipeline.core.safety.pseudonym import key_fingerprint
from pipeline.survey.flow import run_survey
from pipeline.survey.questionnaire import load_questionnaire
from pipeline.survey.report.quotes import load_exclusions

EXPORT = REFERENCE_DATA / "interactions_2025_export.csv"
TEST_KEY = os.environ["JOINEDUP_PSEUDONYM_KEY"].encode()
OTHER_FINGERPRINT = key_fingerprint(b"a-different-key-0123456789abcdef")


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The reference run, then the same run with one recode added to recodes.yaml."""
    root = tmp_path_factory.mktemp("prov")
    spec_dir = root / "spec" / "interactions_2025"
    shutil.copytree(SCHEMAS / "surveys" / "interactions_2025", spec_dir)
    before = run_survey(EXPORT, spec_dir / "questionnaire.yaml", root / "a", suggest=False)
    recodes = spec_dir / "recodes.yaml"
    recodes.write_text(recodes.read_text() + "\n# reviewed again\n")
    after = run_survey(EXPORT, spec_dir / "questionnaire.yaml", root / "b", suggest=False)
    return _manifest(before), _manifest(after)


def test_a_changed_recode_table_changes_the_manifest(two_runs):
    before, after = two_runs
    assert before["inputs"]["recodes"] != after["inputs"]["recodes"]
    assert {k: v for k, v in before["inputs"].items() if k != "recodes"} == {
        k: v for k, v in after["inputs"].items() if k != "recodes"
    }


def test_every_input_that_decides_a_figure_is_hashed(two_runs):
    inputs = two_runs[0]["inputs"]
    assert set(inputs) == {
        "questionnaire",
        "recodes",
        "tables",
        "published",
        "quote_exclusions",
        "postcode_areas",
        "templates",
    }
    assert all(len(v) == 64 for v in inputs.values())


def test_the_manifest_fingerprints_the_key_and_never_holds_it(two_runs):
    manifest = two_runs[0]
    assert manifest["key_fingerprint"] == key_fingerprint(TEST_KEY)
    assert TEST_KEY.decode() not in json.dumps(manifest)


def _exclusions(tmp_path: Path, fingerprint: str | None) -> Path:
    line = f"key_fingerprint: {fingerprint}\n" if fingerprint else ""
    path = tmp_path / "quote_exclusions.yaml"
    path.write_text(
        "survey: interactions_2025\n"
        + line
        + "excluded:\n  - {respondent: r_0123456789ab, reason: names a school}\n"
    )
    return path


def test_exclusions_made_under_another_key_are_refused_with_the_fix(tmp_path):
    spec = load_questionnaire("interactions_2025")
    path = _exclusions(tmp_path, OTHER_FINGERPRINT)
    with pytest.raises(SpecError) as err:
        load_exclusions(spec, path, key_fingerprint=key_fingerprint(TEST_KEY))
    assert err.value.exit_code == 2
    assert "another pseudonym key" in str(err.value) and "would reappear" in str(err.value)
    assert key_fingerprint(TEST_KEY) in str(err.value)


def test_exclusions_without_a_fingerprint_are_refused(tmp_path):
    spec = load_questionnaire("interactions_2025")
    with pytest.raises(SpecError, match="add `key_fingerprint: kf_"):
        load_exclusions(
            spec, _exclusions(tmp_path, None), key_fingerprint=key_fingerprint(TEST_KEY)
        )


def test_exclusions_made_under_the_current_key_apply(tmp_path):
    spec = load_questionnaire("interactions_2025")
    current = key_fingerprint(TEST_KEY)
    model = load_exclusions(spec, _exclusions(tmp_path, current), key_fingerprint=current)
    assert model.excludes("r_0123456789ab", "barriers_text")


def test_the_fingerprint_is_stable_and_depends_on_the_key():
    assert key_fingerprint(TEST_KEY) == key_fingerprint(TEST_KEY)
    assert key_fingerprint(TEST_KEY) != OTHER_FINGERPRINT
    assert key_fingerprint(TEST_KEY).startswith("kf_") and len(key_fingerprint(TEST_KEY)) == 19


def test_a_new_human_decision_changes_the_joq_month_manifest(month):  # noqa: F811
    import polars as pl

    from pipeline.joq import flow, publish, review

    s, _ = month
    flow.run_code(s, "2025-01")
    first = _manifest(publish.write_month_report(s, "2025-01").parent)
    decision = pl.DataFrame(
        {"response_id": ["R07"], "codes": [["talk"]], "exclude_quote": [None], "note": [None]},
        schema={
            "response_id": pl.String,
            "codes": pl.List(pl.String),
            "exclude_quote": pl.Boolean,
            "note": pl.String,
        },
    )
    review.store_decisions(s.con, "2025-01", decision, "AB")
    second = _manifest(publish.write_month_report(s, "2025-01").parent)
    assert first["inputs"]["decisions"] != second["inputs"]["decisions"]
    assert first["inputs"]["taxonomy"] == second["inputs"]["taxonomy"] != "absent"
