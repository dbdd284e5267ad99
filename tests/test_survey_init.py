"""`survey init` drafts a spec any export can run on; the report's counts are plain pandas counts.

The exports are generated (tests/generic_exports.py) in the shapes of the real files in
../shared/external/: SurveyMonkey two-row, the same flattened to one row, Qualtrics three-row.
"""

from __future__ import annotations

import json
from pathlib import Path

import generic_exports as gx
import pandas as pd
import polars as pl
import pytest
import yaml
from report_counts import init_and_run as _init_and_run
from report_counts import pandas_matches_report
from typer.testing import CliRunner

from cli import app
from pipeline.core.paths import ROOT
from pipeline.survey.infer import init_survey
from pipeline.survey.questionnaire import load_questionnaire

runner = CliRunner()
REFERENCE = ROOT / "data" / "reference" / "interactions_2025_export.csv"
PUBLISHED = ROOT / "schemas" / "surveys" / "interactions_2025" / "published.yaml"


def test_a_surveymonkey_export_gets_a_draft_with_every_question_type(tmp_path):
    export = gx.write_surveymonkey(tmp_path / "sm.csv")
    result = init_survey(export, "drafted", into=tmp_path / "spec")
    spec = load_questionnaire(tmp_path / "spec" / "questionnaire.yaml")
    assert spec.model.status == "draft"
    by_text = {q.text: q for q in spec.model.questions}
    assert by_text[gx.VOLUNTEER].type == "single"
    assert by_text[gx.WORK].type == "single" and by_text[gx.WORK].other_text
    activities = by_text[gx.ACTIVITIES]
    assert activities.type == "multi" and activities.other_text
    assert [o.label for o in spec.options(activities)] == gx.ACTIVITY_OPTIONS
    matrix = [q for q in spec.model.questions if q.text.startswith(gx.MATRIX)]
    assert [q.type for q in matrix] == ["likert"] * 3
    assert [o.label for o in spec.options(matrix[0])][:5] == gx.AGREE  # known scale, in order
    assert set(spec.nets(matrix[0])) == {"net_agree", "net_disagree"}
    ranks = [q for q in spec.model.questions if q.text.startswith(gx.RANK)]
    assert len(ranks) == 3 and all("ranking" in (q.inferred or "") for q in ranks)
    assert by_text[gx.COUNT].type == "number"
    assert by_text[gx.HELP].type == "text"
    assert [o.label for o in spec.options(by_text[gx.AGE])] == gx.AGES  # ordered by number
    assert all(q.inferred for q in spec.model.questions)  # every choice is visible
    mapped = set(spec.model.export.columns.values())
    assert not mapped & {"IP Address", "Email Address", "First Name", "Last Name"}
    assert set(spec.model.export.identifying) >= {"IP Address", "Email Address", "Custom Data 1"}
    assert result.written


def test_a_flattened_export_ties_the_duplicate_other_headers_to_their_question(tmp_path):
    export = gx.write_flattened(tmp_path / "flat.csv")
    init_survey(export, "drafted", into=tmp_path / "spec")
    spec = load_questionnaire(tmp_path / "spec" / "questionnaire.yaml")
    activities = next(q for q in spec.model.questions if q.text == gx.ACTIVITIES)
    labels = [o.label for o in spec.options(activities)]
    assert labels == [*gx.ACTIVITY_OPTIONS, "Other (please specify)"]  # the ticked box
    assert activities.other_text  # ...and the text box with the same header
    cols = spec.model.export.columns
    assert cols[f"{activities.id}__other_text"].endswith("Other (please specify) #2")


def test_a_qualtrics_export_keeps_choice_codes_and_says_labels_are_missing(tmp_path):
    export = gx.write_qualtrics(tmp_path / "q.csv")
    init_survey(export, "drafted", into=tmp_path / "spec")
    spec = load_questionnaire(tmp_path / "spec" / "questionnaire.yaml")
    q1 = spec.question("q1")
    assert [o.code for o in spec.options(q1)] == ["1", "2", "3"]
    assert "write each label" in (q1.inferred or "")
    assert spec.question("q2").type == "multi"
    assert spec.question("q3").other_text  # Q3_4_TEXT is Q3's "Other" box
    e = spec.model.export
    assert e.respondent_id == "ResponseId" and e.started == "StartDate"
    assert {"IPAddress", "RecipientEmail", "LocationLatitude"} <= set(e.identifying)
    assert {"Status", "Progress", "Finished"} <= set(e.ignored)


def test_run_refuses_a_draft_unless_allowed(tmp_path):
    export = gx.write_surveymonkey(tmp_path / "sm.csv")
    init_survey(export, "drafted", into=tmp_path / "spec")
    spec = str(tmp_path / "spec" / "questionnaire.yaml")
    r = runner.invoke(app, ["survey", "run", str(export), "--survey", spec, "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "draft" in r.output and "--allow-draft" in r.output
    assert not (tmp_path / "drafted").exists()


@pytest.mark.parametrize(
    ("writer", "encoding"),
    [
        (gx.write_surveymonkey, "cp1252"),
        (gx.write_flattened, "utf-8"),
        (gx.write_qualtrics, "utf-8"),
    ],
    ids=["surveymonkey", "flattened", "qualtrics"],
)
def test_report_counts_are_plain_pandas_counts(tmp_path, writer, encoding):
    export = writer(tmp_path / "export.csv")
    assert pandas_matches_report(export, tmp_path, encoding) >= 10


def test_the_report_is_the_usual_bundle_marked_draft_with_question_wording_as_titles(tmp_path):
    export = gx.write_surveymonkey(tmp_path / "sm.csv")
    _, out = _init_and_run(export, tmp_path)
    for name in ("report.html", "report.md", "tables.xlsx", "funnel.csv", "working/ledger.csv"):
        assert (out / name).exists(), name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "DRAFT SPEC" in html
    assert f"<h3>{gx.VOLUNTEER}</h3>" in html
    assert "Published figures check" not in html  # nothing published: no empty section
    assert "Routing" not in html
    assert "person3@example.org" not in html and "10.0.0.3" not in html
    ledger = pd.read_csv(out / "working" / "ledger.csv")
    assert len(ledger) == 60  # every raw row accounted for
    assert (ledger["rule"] == "partial_response").sum() == 5  # the generated break-offs


def test_open_text_is_listed_for_coding_redacted(tmp_path):
    export = gx.write_surveymonkey(tmp_path / "sm.csv")
    _, out = _init_and_run(export, tmp_path)
    listed = pd.read_csv(out / "working" / "open_text.csv", dtype=str, keep_default_na=False)
    people = [r for r in gx.respondents() if not r.partial and r.help]
    assert len(listed[listed["question"] == "help_most_role"]) == len(people)
    text = (out / "working" / "open_text.csv").read_text(encoding="utf-8") + (
        out / "report.html"
    ).read_text(encoding="utf-8")
    assert "sam@example.org" not in text and "07700 900123" not in text


def test_a_banner_crosstabs_every_other_closed_question(tmp_path):
    export = gx.write_surveymonkey(tmp_path / "sm.csv")
    spec_dir, out = _init_and_run(export, tmp_path, "--banner", "volunteer_young_people")
    tables = yaml.safe_load((spec_dir / "tables.yaml").read_text(encoding="utf-8"))["tables"]
    crosstabs = [t for t in tables if t["statistic"] == "crosstab"]
    assert crosstabs and all(t["group_by"] == ["volunteer_young_people"] for t in crosstabs)
    age = next(t for t in crosstabs if t["question"] == "age")
    tidy = pl.read_csv(out / "tables" / f"{age['id']}.csv", infer_schema_length=0)
    assert set(tidy["group"]) == {"yes", "no"}
    people = [r for r in gx.respondents() if not r.partial]
    expect = sum(1 for r in people if r.volunteer == "Yes" and r.age == "18-24")
    got = tidy.filter((pl.col("group") == "yes") & (pl.col("row") == "18_24"))["n"].item()
    assert int(got) == expect


def test_an_unknown_banner_is_refused_with_the_choices(tmp_path):
    export = gx.write_surveymonkey(tmp_path / "sm.csv")
    r = runner.invoke(
        app,
        [
            "survey",
            "init",
            str(export),
            "--survey",
            "x",
            "--into",
            str(tmp_path / "s"),
            "--banner",
            "nope",
        ],
    )
    assert r.exit_code == 2 and "volunteer_young_people" in r.output
    assert not (tmp_path / "s" / "questionnaire.yaml").exists()


def test_a_second_wave_is_compared_not_overwritten(tmp_path):
    wave1 = gx.write_surveymonkey(tmp_path / "wave1.csv")
    init_survey(wave1, "drafted", into=tmp_path / "spec")
    before = (tmp_path / "spec" / "questionnaire.yaml").read_bytes()
    wave2 = gx.write_surveymonkey(
        tmp_path / "wave2.csv", seed=8, extra_option=True, drop_count=True, new_column=True
    )
    r = runner.invoke(
        app, ["survey", "init", str(wave2), "--survey", "drafted", "--into", str(tmp_path / "spec")]
    )
    assert r.exit_code == 0, r.output
    assert "nothing was written" in r.output
    assert "Would you recommend volunteering?" in r.output  # new column
    assert "many_young_people_work_typical" in r.output  # removed column
    assert "'Online'" in r.output  # new option of mostly_work
    assert (tmp_path / "spec" / "questionnaire.yaml").read_bytes() == before


def test_the_same_wave_again_reports_no_differences(tmp_path):
    wave1 = gx.write_surveymonkey(tmp_path / "wave1.csv")
    init_survey(wave1, "drafted", into=tmp_path / "spec")
    again = init_survey(wave1, "drafted", into=tmp_path / "spec")
    assert not again.written and again.diff is not None and again.diff.same


def test_a_header_only_file_is_not_a_respondent_level_export(tmp_path):
    export = tmp_path / "questions.csv"
    export.write_text("Question,Type\n", encoding="utf-8")
    r = runner.invoke(
        app, ["survey", "init", str(export), "--survey", "x", "--into", str(tmp_path)]
    )
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_init_is_reproducible(tmp_path):
    export = gx.write_surveymonkey(tmp_path / "sm.csv")
    init_survey(export, "drafted", into=tmp_path / "a")
    init_survey(export, "drafted", into=tmp_path / "b")
    for name in ("questionnaire.yaml", "tables.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> tuple[Path, Path]:
    return _init_and_run(REFERENCE, tmp_path_factory.mktemp("reference"))


@pytest.mark.parametrize("figure", ["figure-F-3", "figure-F-4", "figure-F-5"])
def test_the_inferred_reference_spec_reproduces_published_single_choice_figures(
    reference_run, figure
):
    """No hand edits: the draft of the reference export gives Figures F-3 to F-5 (base 296)."""
    spec_dir, out = reference_run
    fig = next(f for f in yaml.safe_load(PUBLISHED.read_text())["figures"] if f["id"] == figure)
    tables = yaml.safe_load((spec_dir / "tables.yaml").read_text(encoding="utf-8"))["tables"]
    table = next(t for t in tables if t["title"] == fig["title"] and t["statistic"] == "frequency")
    tidy = pl.read_csv(out / "tables" / f"{table['id']}.csv")
    by_label = {r["row_label"]: r for r in tidy.iter_rows(named=True)}
    for v in fig["values"]:
        row = by_label[v["label"]]
        assert row["base"] == fig["base"]
        assert abs(row["pct"] - v["pct"]) <= 0.5, (v["label"], row["pct"], v["pct"])


def test_the_inferred_reference_spec_finds_the_published_partials_and_duplicate(reference_run):
    """Chapter 2: 320 responses, 1 duplicate and 23 partials removed, 296 usable."""
    _, out = reference_run
    funnel = dict(pl.read_csv(out / "funnel.csv").iter_rows())
    assert funnel == {"raw": 320, "removed_duplicate": 1, "removed_partial": 23, "usable": 296}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec_status"] == "draft"
