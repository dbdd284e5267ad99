"""Working files (row-level, for the analyst and coder) are kept apart from what may be published
and carry no contact details; published JOQ month tables hide small cells (issue 11 items 1, 2)."""

from __future__ import annotations

import openpyxl
import polars as pl
from test_joq_workflow import month  # noqa: F401  (the tiny JOQ month fixture)

from pipeline.joq import flow
from pipeline.survey.clean import WORKING, Cleaned, write_ledger_outputs

CONTACT = "ring 07700 900123 or jo.bloggs@example.org, LS6 2AB"


def test_survey_row_level_files_go_to_working_with_text_redacted(tmp_path):
    review = pl.DataFrame(
        {"row": [5], "respondent": ["r_0123456789ab"], "text": [CONTACT], "status": ["unreviewed"]}
    )
    ledger = pl.DataFrame(
        {
            "row": [5],
            "respondent": ["r_0123456789ab"],
            "rule": ["usable"],
            "action": ["kept"],
            "before": [""],
            "after": [""],
        }
    )
    funnel = pl.DataFrame({"step": ["raw"], "count": [1]})
    write_ledger_outputs(Cleaned(pl.DataFrame(), ledger, funnel, review), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["funnel.csv", WORKING]
    assert sorted(p.name for p in (tmp_path / WORKING).iterdir()) == [
        "ledger.csv",
        "other_review.csv",
    ]
    text = (tmp_path / WORKING / "other_review.csv").read_text()
    assert "07700" not in text and "example.org" not in text and "LS6" not in text
    assert "ring [phone] or [email], [postcode]" in text


def test_joq_review_sheet_and_other_review_carry_no_contact_details(month):  # noqa: F811
    s, _ = month
    flow.run_code(s, "2025-01")
    path = flow.run_review_write(s, "2025-01")
    wb = openpyxl.load_workbook(path, read_only=True)
    cells = [str(c) for row in wb["review"].iter_rows(values_only=True) for c in row if c]
    wb.close()
    assert any("[email]" in c for c in cells)
    assert not any("someone@example.org" in c for c in cells)
    other = (s.month_dir("2025-01") / "other_review.csv").read_text()
    assert "someone@example.org" not in other


def test_joq_month_tables_in_the_publication_profile_show_no_count_under_ten(month):  # noqa: F811
    from pipeline.joq import publish

    s, _ = month
    flow.run_code(s, "2025-01")
    report = publish.write_month_report(s, "2025-01", profile="publication")
    folder = report.parent
    small = []
    for csv in (folder / "tables").glob("*.csv"):
        t = pl.read_csv(csv, infer_schema=False)
        small += [
            (csv.name, n) for n in t["n"].to_list() + t["base"].to_list() if n in set("123456789")
        ]
    assert small == []
    md = (folder / "report.md").read_text()
    md_counts = [line.split("|")[2].strip() for line in md.splitlines() if line.count("|") >= 5]
    assert "[c]" in md_counts and not set(md_counts) & set("123456789")
    assert "[c]" in report.read_text()
    assert '"profile": "publication"' in (folder / "manifest.json").read_text()
