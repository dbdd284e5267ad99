"""Input limits and encodings (issue 11 item 6): a file is read exactly as written or refused with
the offset, row and column to look at; no input can make the reader take GBs or minutes, and no
control or bidi-override character reaches a value or a printed message."""

from __future__ import annotations

import re
import zipfile

import polars as pl
import pytest
import survey_fixtures as sf
from openpyxl import Workbook

from pipeline.core.errors import InputError, Problem, printable
from pipeline.core.reader import grid
from pipeline.survey.ingest import mapping, read_export

SPEC = sf.spec()
KEY = b"k" * 32


def _read(path, **kw):
    return read_export(path, SPEC, key=KEY, **kw)


# --- encodings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", grid.BOM])
def test_one_stray_cp1252_byte_in_a_utf8_file_is_refused_at_its_offset(tmp_path, bom):
    """Before: the whole file was silently re-decoded as cp1252 (every 'é' became 'Ã©')."""
    p = sf.surveymonkey_csv(
        tmp_path / "mixed.csv",
        [sf.youth(1, effective_practice_text="café"), sf.youth(2)],
        encoding="utf-8",
    )
    body = p.read_bytes()
    body = body[: body.rindex(b"Regular")] + b"Reg\x96ular" + body[body.rindex(b"Regular") + 7 :]
    p.write_bytes(bom + body)
    offset = (bom + body).index(b"\x96")
    with pytest.raises(InputError) as err:
        _read(p)
    text = str(err.value)
    assert f"byte 0x96 at offset {offset}" in text
    assert "row 4" in text and "mixed.csv" in text
    assert "mixed encodings" in text or "UTF-8 BOM" in text


def test_bom_file_with_a_bad_byte_names_the_file_offset_not_the_offset_after_the_bom(tmp_path):
    """Before: the offset was 3 bytes short and named the wrong byte."""
    p = sf.surveymonkey_csv(tmp_path / "bom.csv", [sf.youth(1)])  # utf-8-sig
    raw = p.read_bytes().replace(b"Regular", b"Reg\xffular", 1)
    p.write_bytes(raw)
    offset = raw.index(b"\xff")
    with pytest.raises(InputError, match=rf"byte 0xff at offset {offset} "):
        _read(p)


def test_a_wholly_cp1252_file_is_still_read_as_cp1252(tmp_path):
    p = sf.surveymonkey_csv(
        tmp_path / "win.csv", [sf.youth(1, effective_practice_text="£5k – “ok”")], encoding="cp1252"
    )
    r = _read(p)
    assert (r.encoding, r.frame["effective_practice_text"][0]) == ("cp1252", "£5k – “ok”")


# --- size limits ----------------------------------------------------------------------------------


def test_a_csv_cell_longer_than_a_spreadsheet_cell_is_refused_with_row_and_column(tmp_path):
    p = sf.surveymonkey_csv(
        tmp_path / "long.csv",
        [sf.youth(1), sf.youth(2, effective_practice_text="x" * (grid.MAX_CELL_CHARS + 1))],
    )
    with pytest.raises(InputError, match=r"long\.csv, row 4, column \d+: a cell holds 32,768"):
        _read(p)


def test_a_long_cell_in_a_large_chunked_file_is_refused_too(tmp_path, monkeypatch):
    monkeypatch.setattr(grid, "CHUNK_BYTES", 4000)
    people = [sf.youth(n) for n in range(1, 12)]
    people.append(sf.youth(12, effective_practice_text="é" * (grid.MAX_CELL_CHARS + 5)))
    p = sf.surveymonkey_csv(tmp_path / "big.csv", people)
    with pytest.raises(InputError, match=r"row 14, column \d+: a cell holds 32,772"):
        _read(p)


def test_a_cell_of_32767_multibyte_characters_is_accepted(tmp_path):
    text = "é" * grid.MAX_CELL_CHARS  # 65,534 bytes, 32,767 characters: Excel's limit exactly
    p = sf.surveymonkey_csv(tmp_path / "ok.csv", [sf.youth(1, effective_practice_text=text)])
    assert _read(p).frame["effective_practice_text"][0] == text


def test_more_columns_than_a_spreadsheet_holds_is_refused(tmp_path):
    p = tmp_path / "wide.csv"
    width = grid.MAX_COLUMNS + 1
    p.write_text(",".join(f"c{j}" for j in range(width)) + "\n" + ",".join(["1"] * width) + "\n")
    with pytest.raises(InputError, match=r"16,385 columns, more than the 16,384"):
        grid.read_grid(p)


def _shared_strings_xlsx(path, rows: list[list[str]]):
    """A minimal workbook as Excel writes it: every text cell a shared string."""
    strings = sorted({c for r in rows for c in r})
    ref = {c: k for k, c in enumerate(strings)}
    cells = "".join(
        f'<row r="{i}">'
        + "".join(f'<c r="{chr(65 + j)}{i}" t="s"><v>{ref[c]}</v></c>' for j, c in enumerate(r))
        + "</row>"
        for i, r in enumerate(rows, start=1)
    )
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{ns}/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>",
        "_rels/.rels": f'<Relationships xmlns="{ns}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": f'<workbook xmlns="{ns}/spreadsheetml/2006/main" '
        f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{ns}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{ns}/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{ns}/spreadsheetml/2006/main">'
        f"<sheetData>{cells}</sheetData></worksheet>",
        "xl/sharedStrings.xml": f'<sst xmlns="{ns}/spreadsheetml/2006/main">'
        + "".join(f"<si><t>{c}</t></si>" for c in strings)
        + "</sst>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def test_a_shared_strings_workbook_reads_normally(tmp_path):
    rows = [["Respondent ID", "Answer"], ["1", "more time"], ["2", "more time"]]
    assert grid.read_grid(_shared_strings_xlsx(tmp_path / "ok.xlsx", rows)).rows == rows


def test_a_huge_shared_string_is_refused_before_the_workbook_is_loaded(tmp_path, monkeypatch):
    """Before: a 539 KB XLSX with one 400 MB shared string made openpyxl take 3.3 GB."""
    rows = [["Respondent ID", "Answer"], ["1", "a" * 50_000_000]]
    p = _shared_strings_xlsx(tmp_path / "huge.xlsx", rows)
    assert p.stat().st_size < 1_000_000
    import openpyxl

    def must_not_load(*a, **k):
        raise AssertionError("openpyxl must not read an over-long shared string")

    monkeypatch.setattr(openpyxl, "load_workbook", must_not_load)
    with pytest.raises(
        InputError, match=r"sharedStrings\.xml' holds a text longer than the 32,767"
    ):
        _read(p)


def test_an_xlsx_cell_over_the_limit_is_refused_with_its_row(tmp_path):
    """openpyxl truncates on writing, so the over-long cell is written as another tool would."""
    rows = [["Respondent ID", "Answer"], ["1", "y" * (grid.MAX_CELL_CHARS + 1)]]
    with pytest.raises(InputError, match=r"row 2, column 2: a cell holds 32,768"):
        grid.read_grid(_shared_strings_xlsx(tmp_path / "cell.xlsx", rows))


def test_a_formula_cell_without_a_saved_value_is_reported_not_read_as_empty(tmp_path):
    """Before: openpyxl's data_only read gave None and the cell silently became empty."""
    wb = Workbook()
    ws = wb.active
    ws.append(["Respondent ID", "Answer", "Count"])
    ws.append(["1", "fine", 3])
    ws.append(["2", "also fine", "=B2&B3"])  # openpyxl saves formulas without a value
    wb.save(tmp_path / "formula.xlsx")
    with pytest.raises(InputError) as err:
        grid.read_grid(tmp_path / "formula.xlsx")
    text = str(err.value)
    assert "row 3, column 3" in text and "1 formula cell(s) have no saved value" in text
    assert "C3" in text and "save it" in text


def test_a_workbook_without_formulas_is_read_once(tmp_path, monkeypatch):
    p = sf.surveymonkey_xlsx(tmp_path / "plain.xlsx", [sf.youth(1)])
    import openpyxl

    calls = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: calls.append(k) or real(*a, **k))
    _read(p)
    assert [k.get("data_only") for k in calls] == [True]


# --- unknown columns ------------------------------------------------------------------------------


def test_unknown_column_matching_is_linear_not_difflib_against_every_spec_column(
    tmp_path, monkeypatch
):
    """Before: difflib compared each unknown header with every spec column (0.2 s a column, so
    2,000 unknown columns took minutes). Now difflib ranks at most a few candidates per header."""
    row1, row2, data = sf.rows([sf.youth(1)])
    extra = 300
    row1 += [f"Brand new question number {k} about local partnerships?" for k in range(extra)]
    row2 += ["Response"] * extra
    data = [d + [""] * extra for d in data]
    p = tmp_path / "wide.csv"
    p.write_text("\n".join(",".join(f'"{c}"' for c in r) for r in [row1, row2, *data]) + "\n")
    ratios = []
    real = mapping.difflib.SequenceMatcher.ratio
    monkeypatch.setattr(
        mapping.difflib.SequenceMatcher, "ratio", lambda self: ratios.append(1) or real(self)
    )
    with pytest.raises(InputError, match=r"300 problems|\(30\d problems\)") as err:
        _read(p)
    assert len(ratios) <= mapping.Nearest.CANDIDATES * extra
    assert "Brand new question number 7 about local partnerships" in str(err.value)


def test_the_closest_spec_question_is_still_named_for_a_reworded_header(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "ren.csv", [sf.youth(1)])
    old = SPEC.instance("tenure").text
    p.write_bytes(p.read_bytes().replace(old.encode(), b"How long have you worked in this role?"))
    with pytest.raises(InputError, match=r"closest: question 'tenure'"):
        _read(p)


# --- control and bidi characters ------------------------------------------------------------------


HOSTILE = "ok\x00 \x1b[2J\x1b]0;pwned\x07 \u202eevil\u202c \u2066x\u2069 \x9b"


def test_nul_terminal_escapes_and_bidi_overrides_are_removed_from_values(tmp_path):
    p = sf.surveymonkey_csv(
        tmp_path / "ctl.csv", [sf.youth(1, effective_practice_text=HOSTILE), sf.youth(2)]
    )
    text = _read(p).frame["effective_practice_text"][0]
    assert text == "ok [2J]0;pwned evil x"
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)


def test_every_printed_message_shows_control_characters_as_visible_escapes(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "ctl.csv", [sf.youth(1)])
    old = SPEC.instance("tenure").text
    p.write_bytes(p.read_bytes().replace(old.encode(), "Tenure\x1b[31m \u202eredaeh".encode()))
    with pytest.raises(InputError) as err:
        _read(p)
    text = str(err.value)
    assert "\x1b" not in text and "\u202e" not in text
    assert r"Tenure\x1b[31m \u202eredaeh" in text


def test_the_message_sanitiser_covers_file_column_message_and_fix():
    p = Problem("bad\u202e\x00", file="a\x1b.csv", column="c\x07", fix="do\rthis")
    assert str(p) == r"a\x1b.csv, column 'c\x07': bad\u202e\x00. Fix: do\rthis"
    assert printable("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


def test_values_keep_tabs_and_line_breaks(tmp_path):
    text = "line one\nline\ttwo"
    p = sf.surveymonkey_csv(tmp_path / "nl.csv", [sf.youth(1, effective_practice_text=text)])
    assert _read(p).frame["effective_practice_text"][0] == text


def test_the_polars_and_python_unsafe_sets_agree():
    from pipeline.core.errors import POLARS_UNSAFE, strip_unsafe

    chars = "".join(map(chr, range(0x3000)))
    assert pl.Series([chars]).str.replace_all(POLARS_UNSAFE, "")[0] == strip_unsafe(chars)


def test_an_unreadable_file_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    p = sf.surveymonkey_csv(tmp_path / "locked.csv", [sf.youth(1)])

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(p), "read_bytes", denied)  # as a file without read permission
    with pytest.raises(
        InputError, match=r"locked\.csv: cannot read the file \(permission denied\)"
    ):
        grid.read_grid(p)
