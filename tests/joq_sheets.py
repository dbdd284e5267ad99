"""Test helper: edit a JOQ review workbook as a coder would in Excel (cells by response id)."""

from pathlib import Path

import openpyxl


def edit_sheet(path: Path, edits: dict[str, dict[str, object]], codebook=None) -> None:
    """Set cells by response id (in whichever answer sheet holds it) and, optionally, replace
    the codebook's rows (list of dicts) or edit them (dict id -> {column: value})."""
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        if ws.title.startswith("_") or ws.title in ("instructions", "codebook"):
            continue
        head = [c.value for c in ws[1]]
        if "response_id" not in head:
            continue
        for row in ws.iter_rows(min_row=2):
            rid = row[head.index("response_id")].value
            for col, value in edits.get(rid, {}).items():
                row[head.index(col)].value = value
    if codebook is not None:
        ws = wb["codebook"]
        head = [c.value for c in ws[1]]
        if isinstance(codebook, list):
            ws.delete_rows(2, ws.max_row)
            for i, r in enumerate(codebook, start=2):
                for col, value in r.items():
                    ws.cell(row=i, column=head.index(col) + 1, value=value)
        else:
            for row in ws.iter_rows(min_row=2):
                for col, value in codebook.get(row[0].value, {}).items():
                    row[head.index(col)].value = value
    wb.save(path)


def rows_of(path: Path, sheet: str) -> list[dict[str, object]]:
    ws = openpyxl.load_workbook(path)[sheet]
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r, strict=False)) for r in ws.iter_rows(min_row=2, values_only=True)]
