"""Charts readable at a glance and tables.xlsx laid out for publication (issue 14 item 5)."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook

from pipeline.survey.report import charts

LONG = "Sharing general information to support young people and their families in the area"


def test_labels_wrap_at_spaces_and_nothing_is_cut():
    lines = charts.wrap(LONG)
    assert " ".join(lines) == LONG and len(lines) > 1
    assert all(len(line) <= charts.LABEL_CHARS for line in lines)
    svg = charts.bar_chart(
        [charts.Bar(LONG, 56.0, "56%")], title="t", axis_label="a", colour="#1f5f8b"
    )
    shown = " ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg))
    assert shown == LONG and "…" not in shown


def test_every_chart_text_is_at_least_12px():
    svg = charts.stacked_chart(
        [("Education", [charts.Bar("Agree", 78.0, "78%"), charts.Bar("Neither", 14.0, "14%"),
                        charts.Bar("Disagree", 8.0, "8%")])],
        title="t",
        legend=["Agree", "Neither", "Disagree"],
    )  # fmt: skip
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', svg)]
    assert sizes and min(sizes) >= 12


@pytest.mark.parametrize("fill", charts.SERIES_COLOURS)
def test_value_labels_contrast_with_their_segment(fill):
    assert charts.contrast(fill, charts.text_colour(fill)) >= charts.MIN_CONTRAST


def test_the_legend_sits_below_the_axis_title():
    svg = charts.stacked_chart(
        [("Education", [charts.Bar("A", 50.0, "50%"), charts.Bar("B", 50.0, "50%")])],
        title="t",
        legend=["A long legend entry that needs space", "B"],
    )
    axis_title_y = max(
        float(y)
        for y in re.findall(
            r'<text x="[\d.]+" y="([\d.]+)" text-anchor="middle" font-size="13"', svg
        )
    )
    legend_top = min(float(y) for y in re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="12"', svg))
    assert legend_top > axis_title_y + 4


def test_tables_xlsx_is_one_publication_sheet_per_table(publication_run):
    wb = load_workbook(publication_run / "tables.xlsx")
    assert wb.sheetnames[0] == "Contents" and "text-3.21" in wb.sheetnames
    ws = wb["table-F-1"]
    assert ws["A1"].value == "Which of the following best describes the sector you work in?"
    assert ws["A2"].value.startswith("Question: We know your work may not fit neatly")
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    pct = [c for c in cells if c.number_format == "0%"]
    assert pct and all(0 <= c.value <= 1 for c in pct)
    assert all(round(c.value * 100, 6) == round(c.value * 100) for c in pct)  # as the report shows
    texts = [str(c.value) for c in cells]
    assert any(t.startswith("Base: all usable respondents") for t in texts)
    assert any("[c] suppressed" in t for t in texts)
    small = wb["text-3.21"]
    assert "[c]" in [c.value for row in small.iter_rows() for c in row]
