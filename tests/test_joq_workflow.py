"""The monthly workflow end to end on a tiny month, with the hashing embedder (no model):
code determinism, cache reuse, the review round trip, the report's escaping, and the CLI."""

import openpyxl
import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from cli import app
from pipeline.core.embed import HashingEmbedder
from pipeline.core.safety.html import assert_rendered_clean
from pipeline.core.safety.markdown import assert_markdown_clean
from pipeline.joq import flow, publish, store
from tests.joq_sheets import edit_sheet

TAXONOMY = {
    "version": 1,
    "themes": [
        {"id": "communication", "label": "Communication", "description": "talking", "sources": []},
        {"id": "funding_resources", "label": "Funding", "description": "money", "sources": []},
        {"id": "other", "label": "Other", "description": "", "sources": []},
    ],
}
FRAME = {
    "month": "2025-01",
    "version": 2,
    "status": "reviewed",
    "question": "One change?",
    "sectors": [
        {"code": "education", "label": "Education"},
        {"code": "housing", "label": "Housing"},
        {"code": "all", "label": "All of the above"},
    ],
    "sample": {"size": 4, "seed": 11, "stratify_by": None},
    "codes": [
        {
            "id": "talk",
            "label": "Talk more",
            "definition": "talking and communication",
            "theme": "communication",
            "include": ["talk", "communicat"],
            "exclude": [],
            "exemplars": [{"response_id": "R01", "text": "Talk to each other more"}],
        },
        {
            "id": "money",
            "label": "Funding",
            "definition": "money and funding",
            "theme": "funding_resources",
            "include": ["funding", "money"],
            "exclude": [],
            "exemplars": [],
        },
        {"id": "other", "label": "Other", "definition": "", "theme": "other"},
    ],
}
ANSWERS = [
    "Talk to each other more",
    "More funding for youth clubs",
    "Money for staff",
    "Better communication with schools",
    "Funding and communication please",
    "<script>alert(1)</script> talk {{ 7*7 }} {% if x %}",
    "Weather is nice today",
    "n/a",
    "Long term funding please",
    "Schools should talk to youth workers",
    "Email me at someone@example.org to talk",
    "Funding cuts hurt",
]


@pytest.fixture
def month(tmp_path):
    (tmp_path / "frames" / "joq").mkdir(parents=True)
    (tmp_path / "frames" / "joq" / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
    (tmp_path / "frames" / "joq" / "2025-01.yaml").write_text(yaml.safe_dump(FRAME))
    lines = ["Response ID,Submitted,Sector,Answer,Region"]
    for i, a in enumerate(ANSWERS, start=1):
        sector = "Education" if i % 3 else "All of the above"
        lines.append(f'R{i:02d},2025-02-01,{sector},"{a}",{"North" if i % 2 else "South"}')
    (tmp_path / "export.csv").write_text("\n".join(lines) + "\n")
    s = flow.Session(
        store.connect(tmp_path / "db.duckdb"),
        HashingEmbedder(),
        tmp_path / "out",
        tmp_path / "frames" / "joq",
    )
    flow.run_import(s, tmp_path / "export.csv", "2025-01")
    return s, tmp_path


def codes_of(s, rid):
    f = store.final_codes(s.con, "2025-01")
    return sorted(f.filter(pl.col("response_id") == rid)["code_id"].to_list())


def test_code_is_deterministic_and_rerun_embeds_nothing_new(month):
    s, _ = month
    first = flow.run_code(s, "2025-01")
    assert first.computed > 0
    second = flow.run_code(s, "2025-01")  # nothing changed: the stored result, nothing scored
    assert second.cached and second.computed == 0
    assert first.machine.equals(second.machine) and first.run_id == second.run_id
    s.con.execute("DELETE FROM joq_code_cache")  # scored again: same codes, embeddings reused
    third = flow.run_code(s, "2025-01")
    assert not third.cached and third.computed == 0 and third.reused > 0
    assert first.machine.equals(third.machine) and first.run_id == third.run_id
    assert codes_of(s, "R02") == ["money"] and codes_of(s, "R04") == ["talk"]
    assert (s.month_dir("2025-01") / "other_review.csv").is_file()


def test_review_round_trip_survives_recode_and_reimport(month):
    s, tmp = month
    flow.run_code(s, "2025-01")
    path = flow.run_review_write(s, "2025-01")
    edit_sheet(
        path, {"R07": {"code_1": "talk", "code_2": "money"}, "R03": {"exclude_quote": "yes"}}
    )
    assert flow.run_review_apply(s, "2025-01", path, "AB").stored == 2
    assert codes_of(s, "R07") == ["money", "talk"]
    flow.run_code(s, "2025-01")
    assert codes_of(s, "R07") == ["money", "talk"]
    assert flow.run_import(s, tmp / "export.csv", "2025-01").status == "unchanged"
    flow.run_code(s, "2025-01")
    assert codes_of(s, "R07") == ["money", "talk"]
    latest = store.latest_decisions(s.con, "2025-01")
    assert latest.filter(pl.col("response_id") == "R03")["exclude_quote"][0] is True


def test_review_with_unknown_code_names_row_value_and_closest(month):
    s, _ = month
    flow.run_code(s, "2025-01")
    path = flow.run_review_write(s, "2025-01")
    edit_sheet(path, {"R05": {"code_1": "tlak"}})
    wb = openpyxl.load_workbook(path)
    row = next(r[1].row for r in wb["review"].iter_rows(min_row=2) if r[1].value == "R05")
    from pipeline.core.errors import ReviewError

    with pytest.raises(ReviewError) as err:
        flow.run_review_apply(s, "2025-01", path, "AB")
    assert f"review row {row}" in str(err.value) and "'tlak'" in str(err.value)
    assert "closest is 'talk'" in str(err.value)


def test_report_escapes_hostile_text_and_is_self_contained(month):
    s, _ = month
    flow.run_code(s, "2025-01")
    html_path = publish.write_month_report(s, "2025-01")
    html = html_path.read_text()
    assert_rendered_clean(html)
    assert "&lt;script&gt;" in html or "alert" not in html
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert html.index("Content-Security-Policy") < html.index("<title>")
    assert "http://" not in html and "https://" not in html and "src=" not in html
    assert "someone@example.org" not in html
    md = (html_path.parent / "report.md").read_text()
    assert_markdown_clean(md)  # escaped respondent braces (\{\{) are text, not template syntax
    tables = {p.stem for p in (html_path.parent / "tables").glob("*.csv")}
    assert {
        "figure-G-1",
        "joq-coselection",
        "joq-codes",
        "joq-codes-by-sector",
        "joq-taxonomy-themes",
    } <= tables
    g1 = pl.read_csv(html_path.parent / "tables" / "figure-G-1.csv")
    assert g1.columns == [
        "table_id",
        "group",
        "row_label",
        "n",
        "base",
        "pct",
        "ci_low",
        "ci_high",
        "flag",
    ]
    assert g1["base"].to_list() == [12, 12, 12]  # every respondent who ticked, "n/a" included
    trends = publish.write_trends(s)
    assert_rendered_clean(trends.read_text())


def test_discover_writes_draft_and_saturation(month):
    s, _ = month
    d = flow.run_discover(s, "2025-01", 8, 3)
    out = s.month_dir("2025-01")
    draft = yaml.safe_load((out / "draft_frame.yaml").read_text())
    assert draft["status"] == "draft" and draft["sample"]["seed"] == 3
    assert draft["codes"][-1]["id"] == "other"
    assert d.saturation["answers_seen"].to_list() == [8]
    assert (out / "saturation.csv").is_file()


def test_cli_exits_2_with_clean_message_on_bad_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("nothing,useful\n1,2\n")
    res = CliRunner().invoke(
        app, ["joq", "import", str(bad), "--month", "2025-01", "--db", str(tmp_path / "db.duckdb")]
    )
    assert res.exit_code == 2
    assert "missing column" in res.output and "Traceback" not in res.output


def test_every_joq_command_has_help_ending_with_an_example():
    from commands.joq import app as joq_app

    for cmd in joq_app.registered_commands:
        assert "Example: joinedup joq" in (cmd.callback.__doc__ or ""), cmd.name


@pytest.mark.model
def test_real_model_codes_the_tiny_month_sensibly(month, model):
    s, _ = month
    s.embedder = model
    s._cache = None
    run = flow.run_code(s, "2025-01")
    assert codes_of(s, "R03") == ["money"] and codes_of(s, "R10") == ["talk"]
    assert flow.run_code(s, "2025-01").computed == 0 and run.computed > 0
