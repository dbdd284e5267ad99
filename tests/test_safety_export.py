"""CSV/XLSX exports a spreadsheet cannot execute, with stable bytes (OWASP CSV injection).

Also covers ``pipeline.core.timeutil``, which dates every export.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipeline.core.errors import InputError
from pipeline.core.safety.export import excel_sheet_names, neutralise, write_csv, write_xlsx
from pipeline.core.timeutil import generation_stamp, generation_time

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx", "\0x"]


@pytest.fixture(autouse=True)
def fixed_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def test_csv_cells_starting_with_equals_get_apostrophe() -> None:
    assert neutralise("=1+1") == "'=1+1"


@pytest.mark.parametrize("value", HOSTILE)
def test_every_formula_trigger_gets_apostrophe(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["ok", "", "Year 9", "a=b", "email@example.org", "'quoted"])
def test_ordinary_text_is_unchanged(value: str) -> None:
    assert neutralise(value) == value


def test_write_csv_neutralises_text_and_leaves_numbers(tmp_path: Path) -> None:
    df = pl.DataFrame({"label": ["=cmd", "-note", "plain", None], "value": [-3.5, 0.1, 2.0, None]})
    write_csv(df, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == (
        b"label,value\n'=cmd,-3.5\n'-note,0.1\nplain,2.0\n,\n"
    )


def test_write_csv_neutralises_header_names_and_categoricals(tmp_path: Path) -> None:
    df = pl.DataFrame({"=h": pl.Series(["@x", "y"], dtype=pl.Categorical), "n": [-1, 2]})
    write_csv(df, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "'=h,n\n'@x,-1\ny,2\n"


def test_write_csv_is_utf8_without_bom_and_deterministic(tmp_path: Path) -> None:
    df = pl.DataFrame({"text": ["naïve £5k", 'say "hi", then\nleave'], "x": [1 / 3, 1e-20]})
    write_csv(df, tmp_path / "a.csv")
    write_csv(df, tmp_path / "b.csv")
    data = (tmp_path / "a.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" not in data
    assert data == (tmp_path / "b.csv").read_bytes()
    assert pl.read_csv(tmp_path / "a.csv")["text"].to_list() == df["text"].to_list()


def test_excel_sheet_names_are_safe_short_and_unique() -> None:
    names = excel_sheet_names(["a/b", "a:b", "x" * 40, "x" * 40, "History", "", "'q'"])
    assert names[:2] == ["a_b", "a_b (2)"]
    assert all(len(n) <= 31 for n in names)
    assert len({n.casefold() for n in names}) == len(names)
    assert not any(set(n) & set("[]:*?/\\") for n in names)
    assert names[4] != "History" and names[5] == "Sheet" and names[6] == "q"


def _workbook(tmp_path: Path) -> openpyxl.Workbook:
    table = pl.DataFrame(
        {
            "row_label": [*HOSTILE, "Education", None],
            "n": [*range(1, len(HOSTILE) + 1), 230, None],
            "pct": [-3.5, *[1.25] * (len(HOSTILE) - 1), 100.0, None],
        }
    )
    write_xlsx(
        {"Table 1: sectors?": table, "=evil": table.head(1)},
        tmp_path / "t.xlsx",
        notes={"Table 1: sectors?": ["Base: youth-sector respondents (n=230)", "=not a formula"]},
    )
    return openpyxl.load_workbook(tmp_path / "t.xlsx")


def test_xlsx_never_contains_a_formula_and_numbers_stay_numeric(tmp_path: Path) -> None:
    wb = _workbook(tmp_path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    ws = wb["Table 1_ sectors_"]
    assert ws["B2"].value == 1 and ws["B2"].data_type == "n"
    assert ws["C2"].value == -3.5 and ws["C2"].data_type == "n"
    assert ws["A2"].value == "'" + HOSTILE[0] and ws["A2"].data_type == "s"


def test_xlsx_nulls_are_empty_and_notes_sit_under_the_table(tmp_path: Path) -> None:
    ws = _workbook(tmp_path)["Table 1_ sectors_"]
    last = 1 + len(HOSTILE) + 2  # header + hostile rows + Education + null row
    assert [ws.cell(last, j).value for j in (1, 2, 3)] == [None, None, None]
    assert ws.cell(last + 1, 1).value is None
    assert ws.cell(last + 2, 1).value == "Base: youth-sector respondents (n=230)"
    assert ws.cell(last + 3, 1).value == "'=not a formula"


def test_xlsx_header_is_bold_and_columns_have_widths(tmp_path: Path) -> None:
    ws = _workbook(tmp_path)["Table 1_ sectors_"]
    assert all(c.font.bold for c in ws[1])
    assert ws.column_dimensions["A"].width >= len("row_label")


def test_xlsx_bytes_are_reproducible_and_dated_from_source_date_epoch(tmp_path: Path) -> None:
    df = pl.DataFrame({"a": ["x"], "b": [1]})
    write_xlsx({"s": df}, tmp_path / "a.xlsx")
    write_xlsx({"s": df}, tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    props = openpyxl.load_workbook(tmp_path / "a.xlsx").properties
    assert props.created.isoformat() == props.modified.isoformat() == "2023-11-14T22:13:20"
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        assert {i.date_time for i in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_generation_time_comes_from_source_date_epoch() -> None:
    assert generation_time() == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert generation_stamp() == "2023-11-14T22:13:20Z"


def test_generation_time_without_epoch_is_utc_now_in_whole_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    stamp = generation_time()
    assert stamp.tzinfo == UTC and stamp.microsecond == 0
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 5


def test_malformed_source_date_epoch_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        generation_time()
