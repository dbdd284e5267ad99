"""tables.xlsx as a publication-style workbook: a contents sheet, one sheet per table laid out as
a published table (title, question wording, base, formatted percentages, notes, suppression
markers). The long tidy data for analysis is ``tables/<id>.csv`` beside it.

The display values come from the same report context as the HTML and Markdown (disclosure
control already applied), so the workbook can never show a number the report hides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from pipeline.core.safety.export import excel_sheet_names, put_cell, save_workbook

TITLE = Font(bold=True, size=14)
HEAD = Font(bold=True)
MUTED = Font(italic=True, color="555555")
HEAD_FILL = PatternFill("solid", fgColor="F3F6F9")
RULE = Border(bottom=Side(style="thin", color="1F5F8B"))
WRAP = Alignment(wrap_text=True, vertical="top")
RIGHT = Alignment(horizontal="right", vertical="top")
CENTRE = Alignment(horizontal="center", vertical="top")
MARKERS = (
    "[c] suppressed to protect respondents (small cell); [low] base under 30: treat with caution."
)
TEXT_COLUMNS = 8  # columns the wrapped title, wording and notes span


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _table_sheet(ws: Any, sec: Mapping[str, Any], synthetic: bool, profile_note: str) -> None:
    """One published table: heading block, column headers, rows, then base and notes."""
    cols = (["Group"] if sec["grouped"] else []) + ["Answer", "n", "Base", "%", "95% CI"]
    cols += (["Ratio"] if sec["has_ratio"] else []) + ["Flag"]
    widths = {"Group": 30, "Answer": 52, "n": 8, "Base": 8, "%": 7, "95% CI": 11, "Ratio": 8}
    widths["Flag"] = 14
    r = 1
    for text, font in (
        (sec["title"], TITLE),
        (f"Question: {sec['question_text']}", MUTED),
        (f"{sec['id']}" + (f" (reproduces {sec['published']})" if sec["published"] else ""), MUTED),
    ):
        put_cell(ws, r, 1, text)
        ws.cell(r, 1).font = font
        ws.cell(r, 1).alignment = WRAP
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(cols))
        ws.row_dimensions[r].height = 15 * (1 + len(text) // 95) + (6 if font is TITLE else 0)
        r += 1
    if synthetic:
        put_cell(ws, r, 1, "SYNTHETIC DATA: computed from a synthetic reference export.")
        ws.cell(r, 1).font = Font(bold=True, color="8A1C1C")
        r += 1
    r += 1
    for j, name in enumerate(cols, start=1):
        put_cell(ws, r, j, name)
        cell = ws.cell(r, j)
        cell.font, cell.fill, cell.border = HEAD, HEAD_FILL, RULE
        if name not in ("Group", "Answer", "Flag"):
            cell.alignment = RIGHT
        if name == "Flag":
            cell.alignment = Alignment(indent=1)
        if name == "95% CI":
            cell.alignment = CENTRE
    header_row = r
    previous = None
    for row in sec["rows"]:
        r += 1
        group = row["group"] if row["group"] != previous else ""  # a group is named once
        previous = row["group"]
        values = ([group] if sec["grouped"] else []) + [row["label"]]
        values += [row["n"], row["base"], row["pct"], row["ci"]]
        values += ([row["ratio"]] if sec["has_ratio"] else []) + [row["flag"]]
        for j, (name, value) in enumerate(zip(cols, values, strict=True), start=1):
            _value_cell(ws, r, j, name, value)
        lines = max(
            -(-len(str(v)) // int(widths[c] * 1.15))
            for c, v in zip(cols, values, strict=True)
            if c in ("Group", "Answer")
        )
        ws.row_dimensions[r].height = 15 * max(lines, 1)
    r += 2
    notes = [*sec["bases"], sec["base_rule"], *(f"Note: {n}" for n in sec["notes"])]
    notes += [f"Source: joinedup analysis of survey data. {sec['source']}", MARKERS, profile_note]
    for line in notes:
        put_cell(ws, r, 1, line)
        ws.cell(r, 1).alignment = WRAP
        ws.cell(r, 1).font = MUTED
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(cols))
        ws.row_dimensions[r].height = 15 * (1 + len(line) // 110)
        r += 1
    for j, name in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(j)].width = widths[name]
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.sheet_view.showGridLines = False


def _value_cell(ws: Any, r: int, j: int, name: str, value: object) -> None:
    """Counts and bases as integers, percentages as whole-number percent cells (the stored
    value keeps the rounding the report shows), markers such as [c] right-aligned as text."""
    text = "" if value is None else str(value)
    number = _number(text) if name in ("n", "Base", "%", "Ratio") else None
    cell = ws.cell(r, j)
    if isinstance(value, int) and not isinstance(value, bool):
        number = float(value)
    if number is None:
        put_cell(ws, r, j, text)
        cell.alignment = RIGHT if name not in ("Group", "Answer", "Flag") else WRAP
        if name == "Flag":
            cell.alignment = Alignment(indent=1, vertical="top")
        if name == "95% CI":
            cell.alignment = CENTRE
        return
    cell.alignment = RIGHT
    if name == "%":
        put_cell(ws, r, j, number / 100)
        cell.number_format = "0%"
    elif name == "Ratio":
        put_cell(ws, r, j, number)
        cell.number_format = "0.00"
    else:
        put_cell(ws, r, j, int(number))
        cell.number_format = "#,##0"


def write_publication_xlsx(
    path: Path,
    sections: Sequence[Mapping[str, Any]],
    *,
    title: str,
    synthetic: bool,
    profile_note: str,
) -> None:
    """Contents and one sheet per table; the long tidy rows stay in ``tables/<id>.csv``."""
    wb = Workbook()
    contents = wb.active
    contents.title = "Contents"
    names = excel_sheet_names(["Contents", *(s["id"] for s in sections)])[1:]
    put_cell(contents, 1, 1, title)
    contents.cell(1, 1).font = TITLE
    line = 2
    if synthetic:
        put_cell(contents, 2, 1, "SYNTHETIC DATA: computed from a synthetic reference export.")
        contents.cell(2, 1).font = Font(bold=True, color="8A1C1C")
        line = 3
    put_cell(contents, line + 1, 1, "Sheet")
    put_cell(contents, line + 1, 2, "Table")
    for j in (1, 2):
        contents.cell(line + 1, j).font = HEAD
        contents.cell(line + 1, j).fill = HEAD_FILL
    for k, (sec, name) in enumerate(zip(sections, names, strict=False), start=line + 2):
        put_cell(contents, k, 1, name)
        put_cell(contents, k, 2, sec["title"])
        _table_sheet(wb.create_sheet(title=name), sec, synthetic, profile_note)
    last = line + 2 + len(sections)
    put_cell(contents, last + 1, 1, "Long data (one row per cell, unrounded): tables/<id>.csv")
    contents.column_dimensions["A"].width = 16
    contents.column_dimensions["B"].width = 100
    for ws in wb.worksheets:
        _print_setup(ws)
    save_workbook(wb, path)


def _print_setup(ws: Any) -> None:
    """Printed or converted to PDF, a sheet is one page wide (landscape), never cut."""
    from openpyxl.worksheet.properties import PageSetupProperties

    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
