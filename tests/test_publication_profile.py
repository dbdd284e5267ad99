"""Requirement 15: the publication profile suppresses the same cells in CSV, XLSX and HTML."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from markupsafe import escape
from openpyxl import load_workbook


@pytest.fixture
def published(publication_run) -> Path:
    """The session's publication-profile run of the reference export (conftest)."""
    return publication_run


def _suppressed_rows(csv: Path) -> list[tuple[str, str]]:
    t = pl.read_csv(csv, infer_schema=False)
    hidden = t.filter(pl.col("n") == "[c]")
    return [(g or "", label) for g, label in hidden.select("group", "row_label").iter_rows()]


def _section(report: str, table_id: str) -> str:
    start = report.index(f'id="{table_id}"')
    end = report.find("<section", start + 1)
    return report[start : end if end > 0 else len(report)]


def test_small_counts_are_suppressed_in_csv(published):
    f1 = pl.read_csv(published / "tables" / "table-F-1.csv", infer_schema=False)
    shown = dict(zip(f1["row"], f1["n"], strict=True))
    assert shown["social_care"] == "[c]" and shown["housing"] == "[c]"  # 1 and 2 respondents
    assert shown["youth"] == "252" and shown["healthcare"] == "10"  # 10 is not suppressed


def test_every_suppressed_cell_is_suppressed_in_xlsx_and_html_too(published):
    report = (published / "report.html").read_text()
    wb = load_workbook(published / "tables.xlsx")
    xlsx_text = {ws.title: [[c.value for c in r] for r in ws.iter_rows()] for ws in wb}
    checked = 0
    for csv in sorted((published / "tables").glob("*.csv")):
        table_id = csv.stem
        rows = _suppressed_rows(csv)
        if not rows:
            continue
        section = _section(report, table_id)
        sheet = next(v for k, v in xlsx_text.items() if k.startswith(table_id[:25]))
        for _group, label in rows:
            cell = str(escape(label))
            assert re.search(rf"<td>{re.escape(cell)}</td><td class=\"num\">\[c\]</td>", section), (
                table_id,
                label,
            )
            assert any(label in r and "[c]" in r for r in sheet), (table_id, label)
            checked += 1
    assert checked >= 10


def test_suppressed_percentages_do_not_leak_through_chart_labels(published):
    report = (published / "report.html").read_text()
    section = _section(report, "table-F-1")
    svg = section[section.index("<svg") : section.index("</svg>")]
    # social care is 1 of 296 (0.3%, shown as 0%): the chart must not print a value for it
    assert not re.search(
        r"Social care including children and social services</text>.{0,200}?>0%<", svg
    )


def test_the_report_says_which_profile_it_is(published):
    assert "Publication profile" in (published / "report.html").read_text()
    assert "Publication profile" in (published / "report.md").read_text()


def _cells(published: Path, table_id: str) -> dict[tuple[str, str], tuple[str, str]]:
    t = pl.read_csv(published / "tables" / f"{table_id}.csv", infer_schema=False)
    return {
        (g or "", r): (n, b) for g, r, n, b in t.select("group", "row", "n", "base").iter_rows()
    }


def test_a_hidden_breakdown_cell_is_not_the_total_minus_the_shown_one(published):
    # issue 11: Figure 4-1 shows 35/196, text-4.2a showed one_plus 34/190 beside under_1 [c]
    total = _cells(published, "figure-4-1")[("", "capacity_building")]
    tenure = _cells(published, "text-4.2a")
    assert total == ("35", "196")
    assert tenure[("under_1", "capacity_building")][0] == "[c]"
    assert tenure[("one_plus", "capacity_building")][0] == "[c]"
    assert tenure[("one_plus", "capacity_building")][1] == "[c]"  # else 196 - 190 = 6


def test_no_base_under_ten_is_published(published):
    for csv in (published / "tables").glob("*.csv"):
        bases = pl.read_csv(csv, infer_schema=False)["base"].to_list()
        small = [b for b in bases if b and b.isdigit() and 1 <= int(b) <= 9]
        assert small == [], csv.name
    report = (published / "report.html").read_text()
    assert "(n=2)" not in report and "(n=6)" not in report
