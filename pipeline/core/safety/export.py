"""CSV and XLSX export that a spreadsheet cannot execute, written deterministically and atomically.

Follows the OWASP CSV injection guidance: a text cell that a spreadsheet would read as a formula
(leading ``=``, ``+``, ``-``, ``@``, tab, CR, LF or NUL) is prefixed with an apostrophe. Numbers are
typed columns and never touched, so ``-3.5`` stays a number. Column headers are text too.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipeline.core.safety.atomic import atomic_write_bytes
from pipeline.core.timeutil import generation_time

if (
    TYPE_CHECKING
):  # openpyxl is imported by the functions that write XLSX: CSV-only commands skip it
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_TRIGGER_PATTERN = r"^[=+\-@\t\r\n\x00]"
SHEET_NAME_MAX = 31
EXCEL_CELL_MAX = 32_767
_SHEET_BAD_CHARS = re.compile(r"[\[\]:*?/\\]")
_TRUNCATED = "… [truncated]"
# openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE (control characters XML 1.0 forbids), without the import
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def neutralise(value: str) -> str:
    """Prefix ``'`` to text a spreadsheet would treat as a formula; anything else is unchanged."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _neutralise_expr(column: str) -> pl.Expr:
    col = pl.col(column)
    return pl.when(col.str.contains(_TRIGGER_PATTERN)).then("'" + col).otherwise(col).alias(column)


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


def safe_frame(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with text columns (and header names) neutralised; other columns untouched."""
    text = [name for name, dtype in df.schema.items() if _is_text(dtype)]
    out = df.with_columns(pl.col(text).cast(pl.String)).with_columns(
        [_neutralise_expr(name) for name in text]
    )
    return out.rename({name: neutralise(name) for name in out.columns})


def write_csv(df: pl.DataFrame, path: Path) -> None:
    """Write ``df`` as injection-safe CSV: UTF-8, no BOM, ``\\n``, shortest round-trip floats."""
    text = safe_frame(df).write_csv(
        include_bom=False,
        line_terminator="\n",
        quote_style="necessary",
        float_scientific=None,
        float_precision=None,
        date_format="%Y-%m-%d",
        datetime_format="%Y-%m-%dT%H:%M:%S%.f",
        null_value="",
    )
    atomic_write_bytes(Path(path), text.encode("utf-8"))


# --- XLSX -------------------------------------------------------------------------------------


def excel_sheet_names(names: list[str]) -> list[str]:
    """Excel-safe, unique (case-insensitively, as Excel compares) sheet names in the same order."""
    used: set[str] = set()
    out: list[str] = []
    for raw in names:
        base = _SHEET_BAD_CHARS.sub("_", str(raw)).strip().strip("'") or "Sheet"
        if base.casefold() == "history":  # reserved by Excel
            base = "History_"
        name, k = base[:SHEET_NAME_MAX], 2
        while name.casefold() in used:
            suffix = f" ({k})"
            name, k = base[: SHEET_NAME_MAX - len(suffix)] + suffix, k + 1
        used.add(name.casefold())
        out.append(name)
    return out


def _excel_text(value: str) -> str:
    """Text for Excel: neutralised, XML-illegal control characters as U+FFFD, length capped."""
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(value))
    if len(text) > EXCEL_CELL_MAX:
        text = text[: EXCEL_CELL_MAX - len(_TRUNCATED)] + _TRUNCATED
    return text


def _put(ws: Worksheet, row: int, col: int, value: object) -> int:
    """Write one value with an explicit type; return the displayed width for column sizing."""
    cell = ws.cell(row=row, column=col)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return 0
    if isinstance(value, bool | int | float):
        cell.value = value
        return len(str(value))
    if isinstance(value, datetime | date | time):
        value = value.isoformat()
    text = _excel_text(str(value))
    cell.value = text
    cell.data_type = "s"  # never "f", whatever the text
    return max((len(line) for line in text.splitlines()), default=0)


def _fill_sheet(ws: Worksheet, df: pl.DataFrame, notes: list[str]) -> None:
    widths = [0] * df.width
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    for j, name in enumerate(df.columns, start=1):
        widths[j - 1] = _put(ws, 1, j, name)
        ws.cell(row=1, column=j).font = bold
    for i, row in enumerate(df.iter_rows(), start=2):
        for j, value in enumerate(row, start=1):
            widths[j - 1] = max(widths[j - 1], _put(ws, i, j, value))
    note_row = df.height + 3  # one blank row between the table and its notes
    for k, line in enumerate(notes):
        _put(ws, note_row + k, 1, line)
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
    if df.height:
        ws.freeze_panes = "A2"


def _fixed_zip(data: bytes, stamp: datetime) -> bytes:
    """Rewrite the xlsx zip with every entry's timestamp fixed, so equal inputs give equal bytes."""
    when = max(stamp.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=when)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_xlsx(
    sheets: Mapping[str, pl.DataFrame],
    path: Path,
    notes: Mapping[str, list[str]] | None = None,
) -> None:
    """Write one sheet per frame: text as string cells (never formulas), numbers as numbers.

    ``notes`` is keyed like ``sheets``; its lines go under the table after a blank row (for example
    the base description). Workbook properties and zip timestamps come from
    ``pipeline.core.timeutil.generation_time()`` so the bytes are reproducible.
    """
    notes = notes or {}
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for key, name in zip(sheets, excel_sheet_names(list(sheets)), strict=True):
        _fill_sheet(wb.create_sheet(title=name), sheets[key], list(notes.get(key, [])))
    save_workbook(wb, Path(path))


def put_cell(ws: Worksheet, row: int, col: int, value: object) -> int:
    """Public form of ``_put``: one formula-safe, explicitly typed cell; returns its width."""
    return _put(ws, row, col, value)


def excel_text(value: str) -> str:
    """Public form of the cell-text rule (neutralised, control characters replaced, capped), for
    modules that lay out their own workbook (the JOQ review sheet)."""
    return _excel_text(value)


def save_workbook(wb: Workbook, path: Path) -> None:
    """Save atomically with fixed properties and zip timestamps (same inputs, same bytes)."""
    from openpyxl.writer.excel import ExcelWriter

    stamp = generation_time()
    naive = stamp.replace(tzinfo=None)
    wb.properties.created = naive
    wb.properties.modified = naive
    wb.properties.creator = "joinedup"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    atomic_write_bytes(Path(path), _fixed_zip(buffer.getvalue(), stamp))
