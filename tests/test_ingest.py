"""Ingest: every supported layout and encoding maps to the same frame; bad input fails clearly."""

from __future__ import annotations

import contextlib

import polars as pl
import pytest
import survey_fixtures as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.errors import InputError, JoinedupError
from pipeline.survey.ingest import read_export

SPEC = sf.spec()
KEY = b"k" * 32
PEOPLE = [sf.youth(1), sf.youth(2, postcode="SW1A 1AA"), sf.allied(3), sf.partial()]


def _read(path, **kw):
    return read_export(path, SPEC, key=KEY, **kw)


def _answers(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop("_row", "_collector", "_started", "_ended")


@pytest.fixture
def sm_csv(tmp_path):
    return sf.surveymonkey_csv(tmp_path / "export.csv", PEOPLE)


def test_surveymonkey_csv_maps_to_codes_with_two_header_rows(sm_csv):
    r = _read(sm_csv)
    assert (r.layout, r.header_rows, r.encoding) == ("surveymonkey", 2, "utf-8-sig")
    assert r.frame.height == 4
    assert r.frame["_row"].to_list() == [3, 4, 5, 6]
    assert r.frame["sector"].to_list() == ["youth", "youth", "healthcare", "youth"]
    assert r.frame["purposes_education__referral"].to_list()[:2] == [True, True]
    assert r.frame["purposes_education__training"].to_list()[:2] == [False, False]


def test_multi_choice_with_nothing_ticked_is_unanswered_not_false(sm_csv):
    frame = _read(sm_csv).frame
    assert frame["purposes_education__referral"][2] is None  # allied respondent never saw it


def test_identifying_columns_are_dropped_and_ids_pseudonymised(sm_csv):
    r = _read(sm_csv)
    dump = r.frame.write_csv()
    for leaked in ("192.0.2.", "person1@example.org", "Alex1", "Testperson"):
        assert leaked not in dump
    assert set(r.dropped_columns) == {
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
    }
    assert all(p.startswith("r_") for p in r.frame["_respondent"])
    assert "10000000001" not in r.frame.write_csv()
    assert "Alex1" in r.names  # deny-list for redaction, memory only


def test_xlsx_export_reads_the_same_as_csv(tmp_path, sm_csv):
    xlsx = sf.surveymonkey_xlsx(tmp_path / "export.xlsx", PEOPLE)
    a, b = _read(sm_csv), _read(xlsx)
    assert b.encoding == "xlsx"
    assert _answers(a.frame).equals(_answers(b.frame))


@pytest.mark.parametrize("legacy", [False, True])
def test_qualtrics_three_header_rows_in_both_importid_forms(tmp_path, sm_csv, legacy):
    q = sf.qualtrics_csv(tmp_path / "q.csv", PEOPLE, legacy_quotes=legacy)
    r = _read(q)
    assert (r.layout, r.header_rows) == ("qualtrics", 3)
    assert _answers(r.frame).equals(_answers(_read(sm_csv).frame))


@pytest.mark.parametrize("mapped", [False, True])
def test_plain_one_header_csv(tmp_path, sm_csv, mapped):
    p = sf.plain_csv(tmp_path / "p.csv", PEOPLE, mapped_names=mapped)
    r = _read(p)
    assert (r.layout, r.header_rows) == ("plain", 1)
    assert _answers(r.frame).equals(_answers(_read(sm_csv).frame))


def test_utf8_bom_leaves_no_bom_in_names(sm_csv):
    frame = _read(sm_csv).frame
    assert not any("\ufeff" in c for c in frame.columns)


def test_cp1252_export_decodes_pound_dash_and_curly_quotes(tmp_path):
    text = "We need £5k – and “proper” partnership"
    p = sf.surveymonkey_csv(
        tmp_path / "win.csv", [sf.youth(1, effective_practice_text=text)], encoding="cp1252"
    )
    r = _read(p)
    assert r.encoding == "cp1252"
    assert r.frame["effective_practice_text"][0] == text


def test_undecodable_bytes_raise_our_error_naming_the_file(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "bad.csv", [sf.youth(1)], encoding="utf-8")
    p.write_bytes(p.read_bytes().replace(b"Regular", b"Reg\x81\x8dular"))
    with pytest.raises(InputError, match=r"bad\.csv.*row 3.*cannot decode"):
        _read(p)


def test_embedded_newlines_and_quotes_in_open_text_survive(tmp_path):
    text = 'Line one,\nline "two"\r\nand three'
    p = sf.surveymonkey_csv(
        tmp_path / "nl.csv", [sf.youth(1, effective_practice_text=text), sf.youth(2)]
    )
    frame = _read(p).frame
    assert (
        frame["effective_practice_text"][0] == text.replace("\r\n", "\n")
        or frame["effective_practice_text"][0] == text
    )
    assert frame["_row"].to_list() == [3, 4]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf\r\n", "empty"),
    ],
)
def test_empty_files_are_refused(tmp_path, content, message):
    p = tmp_path / "empty.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=message):
        _read(p)


def test_header_only_file_is_refused(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "h.csv", [])
    with pytest.raises(InputError, match="no responses"):
        _read(p)


def test_wrong_delimiter_is_named(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "semi.csv", [sf.youth(1)])
    p.write_bytes(p.read_bytes().replace(b",", b";"))
    with pytest.raises(InputError, match=r"row 1.*';'-separated"):
        _read(p)


def test_ragged_row_is_reported_with_its_row_number(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "r.csv", [sf.youth(1), sf.youth(2), sf.youth(3)])
    lines = p.read_bytes().split(b"\r\n")
    lines[3] = lines[3] + b",extra,cells"
    p.write_bytes(b"\r\n".join(lines))
    with pytest.raises(InputError, match=r"row 4.*different number of cells"):
        _read(p)


def test_duplicate_question_columns_are_refused(tmp_path):
    row1, row2, data = sf.rows([sf.youth(1)])
    p = tmp_path / "dup.csv"
    j = row1.index(SPEC.instance("area").text)
    import csv

    with p.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerows([[*row1, row1[j]], [*row2, row2[j]], *([*d, d[j]] for d in data)])
    with pytest.raises(InputError, match=r"duplicate question column") as err:
        _read(p)
    assert err.value.problems[0].column == len(row1) + 1


def test_workbook_with_several_sheets_asks_which(tmp_path):
    p = sf.surveymonkey_xlsx(tmp_path / "x.xlsx", [sf.youth(1)], extra_sheets=1)
    with pytest.raises(InputError, match="--sheet"):
        _read(p)
    assert _read(p, sheet="Sheet").frame.height == 1


def test_renamed_question_names_the_column_and_closest_spec_question(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "ren.csv", [sf.youth(1)])
    old = SPEC.instance("tenure").text
    p.write_bytes(
        p.read_bytes().replace(old.encode(), b"How long have you worked in this role, roughly?")
    )
    with pytest.raises(InputError) as err:
        _read(p)
    text = str(err.value)
    assert (
        "How long have you worked in this role" in text and "closest" in text and "'tenure'" in text
    )
    assert "spec question 'tenure'" in text  # and the spec question it left without a column


def test_reworded_option_names_value_row_column_and_closest_option(tmp_path):
    p = sf.surveymonkey_csv(
        tmp_path / "opt.csv", [sf.youth(1), sf.youth(2, met_purposes_education="neutral")]
    )
    p.write_bytes(
        p.read_bytes().replace(b"Neither agree nor disagree", b"Neither agree nor disgaree")
    )
    with pytest.raises(InputError) as err:
        _read(p)
    problem = err.value.problems[0]
    assert problem.row == 4 and isinstance(problem.column, int)
    assert (
        "disgaree" in problem.message
        and "closest option: 'Neither agree nor disagree'" in problem.message
    )


def test_value_outside_options_is_refused(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "v.csv", [sf.youth(1)])
    p.write_bytes(p.read_bytes().replace(b"10 to 49 employees", b"Loads"))
    with pytest.raises(InputError, match="'Loads' is not an option of question 'employees'"):
        _read(p)


def test_missing_column_names_the_spec_question(tmp_path):
    row1, row2, data = sf.rows([sf.youth(1)])
    j = row1.index(SPEC.instance("role").text)
    import csv

    p = tmp_path / "miss.csv"
    with p.open("w", newline="") as fh:
        csv.writer(fh).writerows([r[:j] + r[j + 1 :] for r in [row1, row2, *data]])
    with pytest.raises(InputError, match=r"spec question 'role'.*has no column"):
        _read(p)


def test_an_unrelated_export_gets_one_clear_message(tmp_path):
    p = tmp_path / "other.csv"
    p.write_text("RespondentID,Do you like tea?,Favourite biscuit\n1,Yes,Hobnob\n")
    with pytest.raises(InputError, match="none of the export's 3 columns match"):
        _read(p)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_our_errors(tmp_path, data):
    p = tmp_path / "fuzz.csv"
    p.write_bytes(data)
    with contextlib.suppress(JoinedupError):
        _read(p)


def test_corrupted_xlsx_is_our_error_not_a_zlib_traceback(tmp_path):
    """Found by `make fuzz`: a flipped byte inside the zip stream raised zlib.error."""
    good = sf.surveymonkey_xlsx(tmp_path / "ok.xlsx", [sf.youth(1)]).read_bytes()
    for offset in range(200, len(good) - 200, max(1, len(good) // 40)):
        bad = bytearray(good)
        bad[offset] ^= 0xFF
        p = tmp_path / "bad.xlsx"
        p.write_bytes(bytes(bad))
        with contextlib.suppress(JoinedupError):
            _read(p)


@pytest.fixture
def small_chunks(monkeypatch):
    """Cut files above 4,000 bytes into row chunks (several records each, about ten chunks), as
    files above 128 MB are."""
    from pipeline.core.reader import grid

    monkeypatch.setattr(grid, "CHUNK_BYTES", 4000)


def test_a_large_file_read_in_row_chunks_gives_the_same_frame(tmp_path, small_chunks):
    from pipeline.core.reader import grid

    people = [sf.youth(i) for i in range(1, 30)] + [sf.allied(30), sf.partial()]
    p = sf.surveymonkey_csv(tmp_path / "big.csv", people)
    chunked = _read(p)
    assert len(grid.read_grid(p).parts) > 3
    grid.CHUNK_BYTES = 1 << 27
    whole = _read(p)
    assert grid.read_grid(p).parts == ()
    assert chunked.frame.equals(whole.frame)
    assert chunked.frame["_row"].to_list() == list(range(3, 3 + len(people)))
    assert chunked.names == whole.names and chunked.sha256 == whole.sha256


def test_unknown_values_in_later_chunks_name_their_rows_and_count_the_rest(tmp_path, small_chunks):
    people = [sf.youth(i) for i in range(1, 40)]
    p = sf.surveymonkey_csv(tmp_path / "big.csv", people)
    p.write_bytes(p.read_bytes().replace(b"10 to 49 employees", b"Loads"))
    with pytest.raises(InputError) as err:
        _read(p)
    probs = err.value.problems
    assert [x.row for x in probs[:5]] == [3, 4, 5, 6, 7]
    assert "... and 34 more unknown value(s) in question 'employees'" in probs[5].message


def test_a_chunk_polars_miscounts_is_parsed_by_the_csv_module(tmp_path, small_chunks, monkeypatch):
    from pipeline.core.reader import grid

    p = sf.surveymonkey_csv(tmp_path / "big.csv", [sf.youth(i) for i in range(1, 20)])
    expected = _read(p).frame
    short = lambda chunk, path, n_rows=None: grid._csv_part(chunk, n_rows).head(n_rows or 1)  # noqa: E731
    monkeypatch.setattr(grid, "_parse_part", short)
    assert _read(p).frame.equals(expected)
