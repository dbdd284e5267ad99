"""Gold and split files are read by the core export reader: same encodings, same refusals, same
messages as a survey export (never a silent replacement character)."""

import openpyxl
import pytest

from pipeline.core.errors import InputError
from pipeline.joq.flow import read_long


def test_headers_match_ignoring_case_and_spaces_and_cells_are_stripped(tmp_path):
    p = tmp_path / "gold.csv"
    p.write_text(" Response_ID ,Code_ID,note\nR01 , talk ,x\n\nR02,money,\n", encoding="utf-8")
    df = read_long(p, ("response_id", "code_id"))
    assert df.to_dict(as_series=False) == {
        "response_id": ["R01", "R02"],
        "code_id": ["talk", "money"],
    }


def test_an_xlsx_gold_file_reads_like_a_csv(tmp_path):
    p = tmp_path / "gold.xlsx"
    wb = openpyxl.Workbook()
    for row in (["response_id", "code_id"], ["R01", "talk"], ["R02", "money"]):
        wb.active.append(row)
    wb.save(p)
    assert read_long(p, ("response_id", "code_id"))["code_id"].to_list() == ["talk", "money"]


def test_a_missing_column_names_the_file_the_header_row_and_the_fix(tmp_path):
    p = tmp_path / "split.csv"
    p.write_text("response_id,fold\nR01,eval\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_long(p, ("response_id", "split"))
    msg = str(err.value)
    assert "split.csv" in msg and "row 1" in msg and "missing column(s) split" in msg
    assert "needs columns response_id, split" in msg


def test_bytes_that_are_neither_utf8_nor_cp1252_are_refused_with_their_row(tmp_path):
    p = tmp_path / "gold.csv"
    p.write_bytes(b"response_id,code_id\nR01,talk\nR02,mon\x81ey\n")
    with pytest.raises(InputError) as err:
        read_long(p, ("response_id", "code_id"))
    assert "row 3" in str(err.value) and "cannot decode byte 0x81" in str(err.value)
