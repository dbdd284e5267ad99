"""A whole month driven as a coding team would, through the CLI (issue 12, "Done when", for the
import, review, codebook, several-coders and re-import parts): a SurveyMonkey XLSX export with a
consent column -> import -> discover -> codebook edited in the sheet -> code -> two coders' sheets ->
agreement between them -> resolution -> corrected re-import -> report refused while stale ->
re-code -> report. The hashing embedder (--dry-run) keeps it fast; nothing loads the model."""

import openpyxl
import polars as pl
import yaml
from typer.testing import CliRunner

from cli import app
from pipeline.joq import store
from tests.joq_sheets import edit_sheet, rows_of
from tests.test_joq_workflow import FRAME, TAXONOMY

MONTH = "2025-01"
QUESTION = "What one change would help you work with other sectors?"
CONSENT_Q = "Are you happy for us to quote your answer anonymously?"
ANSWERS = [
    ("Talk to each other more", "Yes"),
    ("More funding for youth clubs", "No"),
    ("Money for staff", "Yes"),
    ("Better communication with schools", "No"),
    ("Funding and communication please", "Yes"),
    ("Schools should talk to youth workers", "Yes"),
    ("Long term funding please", ""),
    ("Shared training days with the police", "Yes"),
    ("n/a", "No"),
    ("Funding cuts hurt", "Yes"),
    ("A named contact in every school to talk to", "Yes"),
    ("Joint funding bids with health", "No"),
]


def sm_export(path, answers):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(
        [
            "Respondent ID",
            "Collector ID",
            "Start Date",
            "End Date",
            "IP Address",
            "Email Address",
            "Which sector(s)?",
            "",
            QUESTION,
            CONSENT_Q,
            "Region",
        ]
    )
    ws.append(
        [
            "",
            "",
            "",
            "",
            "",
            "",
            "Education",
            "Housing",
            "Open-Ended Response",
            "Response",
            "Response",
        ]
    )
    for i, (text, consent) in enumerate(answers, start=1):
        ws.append(
            [
                1000 + i,
                7,
                "2025-02-01",
                "2025-02-02",
                f"10.0.0.{i}",
                f"p{i}@example.org",
                "Education" if i % 2 else "",
                "" if i % 2 else "Housing",
                text,
                consent,
                "North" if i % 3 else "South",
            ]
        )
    wb.save(path)


def run(*args):
    return CliRunner().invoke(app, ["joq", *map(str, args)])


def test_a_month_as_a_coding_team_works_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1740000000")
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
    frame = {**FRAME, "question": QUESTION}
    frame["sectors"] = [
        {"code": "education", "label": "Education"},
        {"code": "housing", "label": "Housing"},
    ]
    (frames / f"{MONTH}.yaml").write_text(yaml.safe_dump(frame))
    db, out = tmp_path / "db.duckdb", tmp_path / "out"
    common = ["--db", db, "--frames", frames]
    export = tmp_path / "sm.xlsx"
    sm_export(export, ANSWERS)

    # import: the SurveyMonkey layout, the open question as the answer, consent stored
    r = run("import", export, "--month", MONTH, *common, "--save-mapping", "youth_joq")
    assert r.exit_code == 0, r.output
    assert (
        "surveymonkey layout" in r.output
        and f"answer = '{QUESTION} / Open-Ended Response'" in r.output
    )
    assert "quote consent: 7 of 12 said yes" in r.output
    assert (frames / "mappings" / "youth_joq.yaml").is_file()
    con = store.connect(db)
    df = store.responses(con, MONTH)
    assert df["text"].to_list()[0] == "Talk to each other more"
    assert "p1@example.org" not in str(df.rows()) and "10.0.0.1" not in str(df.rows())
    con.close()

    # discover: a seeded sample grouped into a draft frame to compare with the team's frame
    r = run("discover", MONTH, "--sample", 8, "--seed", 5, *common, "--out", out, "--dry-run")
    assert r.exit_code == 0, r.output
    assert "sample of 8 (seed 5)" in r.output
    draft = yaml.safe_load((out / f"joq_{MONTH}" / "draft_frame.yaml").read_text())
    assert draft["month"] == MONTH and draft["status"] == "draft" and draft["codes"]
    assert (out / f"joq_{MONTH}" / "saturation.csv").is_file()

    # the coder edits the codebook in AB's sheet (a colon in a label, exemplar by answer number)
    r = run("review", MONTH, "--coder", "AB", *common, "--out", out)
    assert r.exit_code == 0, r.output
    ab = out / f"joq_{MONTH}" / "review_AB.xlsx"
    no = {row["response_id"]: row["no"] for row in rows_of(ab, "review")}
    edit_sheet(
        ab,
        {},
        codebook={
            "talk": {"label": "Talk: more and earlier", "exemplars": f"{no['1006']}"},
            "money": {"include": "funding; money; bids"},
        },
    )
    r = run("review", MONTH, "--apply", ab, "--coder", "AB", *common, "--out", out)
    assert r.exit_code == 0, r.output
    assert "frame: edited talk: label, exemplars" in r.output
    saved = yaml.safe_load((frames / f"{MONTH}.yaml").read_text())
    assert saved["codes"][0]["label"] == "Talk: more and earlier"
    assert saved["codes"][0]["exemplars"] == [{"response_id": "1006", "text": ANSWERS[5][0]}]

    # code, then coder AB decides eight answers in a fresh sheet
    assert run("code", MONTH, *common, "--out", out, "--dry-run").exit_code == 0
    r = run("review", MONTH, "--coder", "AB", *common, "--out", out)
    assert r.exit_code == 0, r.output
    decided = {
        "1001": "talk",
        "1002": "money",
        "1003": "money",
        "1004": "talk",
        "1005": "money",
        "1006": "talk",
        "1007": "money",
        "1010": "money",
    }
    edit_sheet(
        ab,
        {rid: {"code_1": c} for rid, c in decided.items()}
        | {"1005": {"code_1": "money", "code_2": "talk", "note": "both"}},
    )
    assert (
        run("review", MONTH, "--apply", ab, "--coder", "AB", *common, "--out", out).exit_code == 0
    )
    r = run("review", MONTH, "--apply", ab, "--coder", "AB", *common, "--out", out)
    assert "stored 0 decisions" in r.output  # re-applying the same sheet stores nothing twice
    # a second coder double-codes five of them, blind; one disagreement
    r = run(
        "review", MONTH, "--coder", "CD", "--double-code", 5, "--seed", 3, *common, "--out", out
    )
    assert r.exit_code == 0, r.output
    cd = out / f"joq_{MONTH}" / "review_CD.xlsx"
    sample = [row["response_id"] for row in rows_of(cd, "review")]
    assert len(sample) == 5
    flip = sample[0]
    other = {"talk": "money", "money": "talk"}
    edit_sheet(
        cd,
        {
            rid: {"code_1": other[decided[rid]] if rid == flip else decided[rid]}
            for rid in sample
            if rid != "1005"
        }
        | ({"1005": {"code_1": "money", "code_2": "talk"}} if "1005" in sample else {}),
    )
    assert (
        run("review", MONTH, "--apply", cd, "--coder", "CD", *common, "--out", out).exit_code == 0
    )
    r = run("agreement", MONTH, "--between", "AB", "CD", *common, "--out", out)
    assert r.exit_code == 0, r.output
    assert "kappa" in r.output
    dis_path = out / f"joq_{MONTH}" / "disagreements_AB_CD.xlsx"
    assert [row["response_id"] for row in rows_of(dis_path, "disagreements")] == [flip]
    edit_sheet(dis_path, {flip: {"code_1": decided[flip], "note": "resolved together"}})
    r = run("review", MONTH, "--apply", dis_path, "--coder", "EF", *common, "--out", out)
    assert r.exit_code == 0, r.output
    # AB's old sheet applied again now would revert CD's and EF's decisions: refused
    con = store.connect(db)
    n_history = store.query(con, "SELECT count(*) AS n FROM joq_decisions")["n"][0]
    con.close()
    r = run("review", MONTH, "--apply", ab, "--coder", "AB", *common, "--out", out)
    assert r.exit_code == 2 and "stale" in r.output and flip in r.output

    # a corrected export: answer 1002's text fixed, one answer added
    fixed = list(ANSWERS)
    fixed[1] = ("More funding for youth clubs and outreach", "No")
    fixed.append(("Housing officers at our drop-in", "Yes"))
    sm_export(export, fixed)
    r = run("import", export, "--month", MONTH, *common)
    assert r.exit_code == 2 and "--replace" in r.output
    r = run("import", export, "--month", MONTH, *common, "--replace", "--mapping", "youth_joq")
    assert r.exit_code == 0, r.output
    assert "1 human decision(s) were made on an answer whose text has changed (1002)" in r.output
    con = store.connect(db)
    assert store.query(con, "SELECT count(*) AS n FROM joq_decisions")["n"][0] == n_history
    latest = store.latest_decisions(con, MONTH)
    assert set(latest["response_id"]) == set(decided) - {"1002"}  # every other decision stands
    con.close()
    r = run("report", MONTH, *common, "--out", out, "--dry-run")
    assert (
        r.exit_code == 2
        and f"joinedup joq code {MONTH}" in r.output
        and "Traceback" not in r.output
    )
    # the changed answer is first in the next sheet, flagged
    r = run("review", MONTH, "--coder", "AB", *common, "--out", out)
    assert r.exit_code == 0, r.output
    first = rows_of(ab, "review")[0]
    assert first["response_id"] == "1002" and first["flag"].startswith("answer changed")
    assert run("code", MONTH, *common, "--out", out, "--dry-run").exit_code == 0
    r = run("report", MONTH, *common, "--out", out, "--dry-run")
    assert r.exit_code == 0, r.output
    con = store.connect(db)
    final = store.final_codes(con, MONTH)
    assert final.filter(pl.col("response_id") == flip)["code_id"].to_list() == [decided[flip]]
    assert final.filter(pl.col("response_id") == "1005")["method"].to_list() == ["human:AB"] * 2
    con.close()

    # everything out: every answer with its codes and consent; no quote from anyone who said no
    # (or left the consent question blank), in the report body or its appendix
    month_dir = out / f"joq_{MONTH}"
    coded = pl.read_csv(month_dir / "coded_answers.csv", infer_schema=False)
    assert coded.height == len(fixed) and (month_dir / "coded_answers.xlsx").is_file()
    assert set(coded.filter(pl.col("consent") != "yes")["quotable"]) == {"no"}
    html = (month_dir / "report.html").read_text()
    assert 'id="appendix-quotes"' in html and "Quotes only from respondents who agreed" in html
    for text, consent in fixed:
        if consent != "Yes" and text != "n/a":
            assert text not in html, text
