"""The review workbook's layout: sheets, drop-downs, widths, and the hidden state it was made from.

Why its own module: what a coder sees in Excel (instructions first, undecided answers first, code
ids chosen from a drop-down, wrapped answers, a filter on every column) is a product decision kept
apart from what a decision means (``review``). Every text cell goes through the export rule
(formulas neutralised, control characters replaced), so an answer starting with ``=`` stays text.

The hidden ``_state`` sheet records the sheet id, month, coder, kind, frame version, seed and, per
response, the seq of its latest decision when the sheet was written; ``review`` uses it to refuse a
stale sheet and to make re-applying idempotent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.core.errors import ReviewError
from pipeline.core.safety.export import excel_text, save_workbook

STATE = "_state"
LISTS = "_lists"
CODEBOOK = "codebook"
EDIT_FILL = PatternFill("solid", fgColor="FFF7D6")
HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")
WIDE = {"answer": 70, "sectors": 40, "note": 40, "decision_note": 36, "definition": 60, "memo": 36}
WRAPPED = {"answer", "machine_codes", "sectors", "note", "decision_note", "definition", "include"}
MAX_WIDTH = 30  # characters; longer text wraps
MAX_LIST_ROWS = 500  # codebook rows the drop-down covers (codes added in Excel appear in it)
YES_NO = '"yes,no"'


@dataclass(frozen=True)
class SheetState:
    """What a sheet was written from; travels inside the workbook and back."""

    sheet_id: str
    month: str
    coder: str  # "" = any coder may apply it (a resolution sheet)
    kind: str  # review | double | resolve
    frame_version: int
    seed: int | None = None
    seqs: dict[str, int] = field(default_factory=dict)  # response id -> latest decision seq
    codebook: dict[str, str] = field(default_factory=dict)  # code id -> digest of its row


@dataclass(frozen=True)
class Returned:
    """A returned workbook: its state, every answer row (sheet, 1-based row, cells by column),
    and the codebook rows (1-based row, cells)."""

    path: Path
    state: SheetState
    rows: list[tuple[str, int, dict[str, str]]]
    codebook: list[tuple[int, dict[str, str]]] | None


def edit_columns(max_codes: int) -> list[str]:
    return [*(f"code_{k}" for k in range(1, max_codes + 1)), "new_code", "exclude_quote", "note"]


def _text(v: object) -> str | int | float | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        return v
    return excel_text(str(v))


def _widths(df: pl.DataFrame, columns: Sequence[str], edit: Sequence[str]) -> dict[str, int]:
    out = {}
    for name in columns:
        if name in WIDE:
            out[name] = WIDE[name]
        elif name in edit:
            out[name] = 22 if name.startswith(("code_", "new_code")) else 14
        else:
            out[name] = max(min(_longest(df, name) + 2, MAX_WIDTH), len(name) + 2, 8)
    return out


def _longest(df: pl.DataFrame, name: str) -> int:
    if name not in df.columns or df.height == 0:
        return 0
    return int(df[name].cast(pl.String).fill_null("").str.len_chars().max() or 0)


def _table(ws: Worksheet, df: pl.DataFrame, edit: Sequence[str] = ()) -> None:
    """Header, rows, widths, wrap, frozen header and a filter; ``edit`` columns are shaded.
    A column whose longest text is wider than its width wraps, so no label is ever cut."""
    columns = [*df.columns, *edit]
    widths = _widths(df, columns, edit)
    wrapped = {n for n in df.columns if n in WRAPPED or _longest(df, n) + 2 > widths[n]}
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for j, name in enumerate(columns, start=1):
        c = ws.cell(row=1, column=j, value=excel_text(name))
        c.font, c.fill, c.alignment = Font(bold=True), HEAD_FILL, wrap
        if name in edit:
            c.fill = PatternFill("solid", fgColor="F5D76E")
        ws.column_dimensions[get_column_letter(j)].width = widths[name]
    for i, row in enumerate(df.iter_rows(), start=2):
        for j, value in enumerate(row, start=1):
            cell = ws.cell(row=i, column=j, value=_text(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            cell.alignment = wrap if df.columns[j - 1] in wrapped else top
        for j in range(df.width + 1, len(columns) + 1):
            ws.cell(row=i, column=j).fill = EDIT_FILL
    ws.freeze_panes = "C2"
    last = max(df.height + 1, 2)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last}"
    _heights(ws, df, columns, wrapped)
    _printable(ws)


def _lines(text: object, width: float) -> int:
    """Lines a wrapped cell needs at a column width (characters), for the row height."""
    if text is None:
        return 1
    return sum(max(1, -(-len(part) // max(int(width * 1.1), 1))) for part in str(text).split("\n"))


def _heights(
    ws: Worksheet, df: pl.DataFrame, columns: Sequence[str], wrapped_cols: set[str]
) -> None:
    """Row heights that show every wrapped line (LibreOffice and some Excel builds do not fit
    them on open, so a wrapped answer would look cut)."""
    wrapped = [
        (j, ws.column_dimensions[get_column_letter(j)].width)
        for j, name in enumerate(columns, start=1)
        if name in wrapped_cols
    ]
    ws.row_dimensions[1].height = 15 * max(
        _lines(name, ws.column_dimensions[get_column_letter(j)].width)
        for j, name in enumerate(columns, start=1)
    )
    for i in range(2, df.height + 2):
        n = max((_lines(ws.cell(row=i, column=j).value, w) for j, w in wrapped), default=1)
        if n > 1:
            ws.row_dimensions[i].height = min(15 * n, 409)


def _printable(ws: Worksheet) -> None:
    """Landscape, one page wide, header row repeated: a coder may print the sheet."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def _dropdowns(ws: Worksheet, columns: Sequence[str], height: int, max_codes: int) -> None:
    last = max(height + 1, 2)
    codes = DataValidation(
        type="list",
        formula1=f"={CODEBOOK}!$A$2:$A${MAX_LIST_ROWS}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not a code id",
        error="Choose a code id from the list; type a new code in new_code instead.",
        promptTitle="Code",
        prompt="Choose a code id (see the codebook sheet).",
        showInputMessage=True,
    )
    yes_no = DataValidation(type="list", formula1=YES_NO, allow_blank=True, showErrorMessage=True)
    ws.add_data_validation(codes)
    ws.add_data_validation(yes_no)
    for j, name in enumerate(columns, start=1):
        letter = get_column_letter(j)
        if name in {f"code_{k}" for k in range(1, max_codes + 1)}:
            codes.add(f"{letter}2:{letter}{last}")
        elif name == "exclude_quote":
            yes_no.add(f"{letter}2:{letter}{last}")


def row_digest(cells: Mapping[str, object], columns: Sequence[str]) -> str:
    """A codebook row's fingerprint, the same whether computed from the frame or read back."""
    values = [clean(cells.get(c)) for c in columns]
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()[:16]


def _state_sheet(wb: Workbook, state: SheetState, codebook: dict[str, str]) -> None:
    ws = wb.create_sheet(STATE)
    meta = [
        ("sheet_id", state.sheet_id),
        ("month", state.month),
        ("coder", state.coder),
        ("kind", state.kind),
        ("frame_version", state.frame_version),
        ("seed", state.seed if state.seed is not None else ""),
    ]
    for i, (k, v) in enumerate(meta, start=1):
        ws.cell(row=i, column=1, value=k)
        ws.cell(row=i, column=2, value=v)
    ws.cell(row=len(meta) + 2, column=1, value="response_id")
    ws.cell(row=len(meta) + 2, column=2, value="seq")
    for i, (rid, seq) in enumerate(sorted(state.seqs.items()), start=len(meta) + 3):
        ws.cell(row=i, column=1, value=excel_text(rid)).data_type = "s"
        ws.cell(row=i, column=2, value=seq)
    ws.cell(row=1, column=4, value="code_id")  # the codebook as written, to tell edited rows
    ws.cell(row=1, column=5, value="digest")
    for i, (cid, digest) in enumerate(sorted(codebook.items()), start=2):
        ws.cell(row=i, column=4, value=excel_text(cid)).data_type = "s"
        ws.cell(row=i, column=5, value=digest).data_type = "s"
    ws.sheet_state = "hidden"


def write_workbook(
    path: Path,
    state: SheetState,
    instructions: Sequence[str],
    answers: dict[str, pl.DataFrame],
    codebook: pl.DataFrame,
    themes: Sequence[str],
    max_codes: int,
) -> None:
    """Instructions, one sheet per ``answers`` entry (edit columns appended), the codebook, and
    the hidden lists and state, written reproducibly and atomically."""
    wb = Workbook()
    ws = wb.active
    ws.title = "instructions"
    ws.column_dimensions["A"].width = 90
    for i, line in enumerate(instructions, start=1):
        c = ws.cell(row=i, column=1, value=excel_text(line))
        c.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[i].height = 15 * _lines(line, 90)
        if i == 1:
            c.font = Font(bold=True, size=14)
            ws.row_dimensions[i].height = 22
    _printable(ws)
    edit = edit_columns(max_codes)
    for name, df in answers.items():
        sheet = wb.create_sheet(name)
        _table(sheet, df, edit)
        _dropdowns(sheet, [*df.columns, *edit], df.height, max_codes)
    cb = wb.create_sheet(CODEBOOK)
    _table(cb, codebook)
    cb.freeze_panes = "B2"
    cb.sheet_view.zoomScale = 90
    lists = wb.create_sheet(LISTS)
    for i, t in enumerate(themes, start=2):
        lists.cell(row=i, column=1, value=excel_text(t))
    lists.cell(row=1, column=1, value="theme")
    lists.sheet_state = "hidden"
    theme_col = codebook.columns.index("theme") + 1 if "theme" in codebook.columns else None
    if theme_col:
        letter = get_column_letter(theme_col)
        dv = DataValidation(
            type="list", formula1=f"={LISTS}!$A$2:$A${len(themes) + 1}", allow_blank=False
        )
        cb.add_data_validation(dv)
        dv.add(f"{letter}2:{letter}{MAX_LIST_ROWS}")
    written = {r["id"]: row_digest(r, codebook.columns) for r in codebook.iter_rows(named=True)}
    _state_sheet(wb, state, written)
    save_workbook(wb, path)


def clean(v: object) -> str:
    """A returned cell as text: the export's formula-guard apostrophe undone, ints without .0."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    if s.startswith("'") and s[1:2] in ("=", "+", "-", "@"):
        s = s[1:]
    return s


def _records(ws: object) -> list[tuple[int, dict[str, str]]]:
    rows = list(ws.iter_rows(values_only=True))  # type: ignore[attr-defined]
    if not rows:
        return []
    head = [clean(h) for h in rows[0]]
    out = []
    for i, r in enumerate(rows[1:], start=2):
        cells = {h: clean(r[j]) if j < len(r) else "" for j, h in enumerate(head) if h}
        if any(cells.values()):
            out.append((i, cells))
    return out


def _read_state(ws: object, path: Path) -> SheetState:
    rows = [[clean(c) for c in r] for r in ws.iter_rows(values_only=True)]  # type: ignore[attr-defined]
    meta = {r[0]: (r[1] if len(r) > 1 else "") for r in rows[:6] if r}
    try:
        start = next(i for i, r in enumerate(rows) if r and r[0] == "response_id") + 1
        seqs = {r[0]: int(r[1] or 0) for r in rows[start:] if r and r[0]}
        codebook = {r[3]: r[4] for r in rows[1:] if len(r) > 4 and r[3]}
        return SheetState(
            meta["sheet_id"],
            meta["month"],
            meta.get("coder", ""),
            meta.get("kind", "review"),
            int(meta["frame_version"]),
            int(meta["seed"]) if meta.get("seed") else None,
            seqs,
            codebook,
        )
    except (KeyError, ValueError, StopIteration):
        raise ReviewError(
            "the hidden _state sheet is damaged",
            file=path,
            fix="write a fresh sheet with `joinedup joq review MONTH` and copy your edits into it",
        ) from None


def read_workbook(path: Path) -> Returned:
    """Every answer row and codebook row of a returned review workbook."""
    import openpyxl

    if not Path(path).is_file():
        raise ReviewError("file not found", file=path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a broken file
        raise ReviewError(f"cannot read as XLSX ({type(err).__name__})", file=path) from err
    try:
        if STATE not in wb.sheetnames:
            raise ReviewError(
                "this workbook has no _state sheet, so it was not written by `joinedup joq "
                "review` (or the sheet was deleted)",
                file=path,
                fix="return the review sheet written by `joinedup joq review MONTH`",
            )
        state = _read_state(wb[STATE], path)
        skip = {STATE, LISTS, CODEBOOK, "instructions"}
        rows = [
            (name, i, cells)
            for name in wb.sheetnames
            if name not in skip
            for i, cells in _records(wb[name])
        ]
        codebook = _records(wb[CODEBOOK]) if CODEBOOK in wb.sheetnames else None
    finally:
        wb.close()
    return Returned(Path(path), state, rows, codebook)
