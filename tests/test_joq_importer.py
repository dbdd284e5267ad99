"""Import is idempotent, shows changes, refuses silent merges, and flags non-answers."""

import pytest

from pipeline.core.errors import InputError
from pipeline.joq import importer, store
from pipeline.joq.frames import Sector

SECTORS = [
    Sector(code="education", label="Education including schools"),
    Sector(code="housing", label="Housing including housing associations"),
    Sector(code="all", label="All of the above"),
]
HEADER = "Response ID,Submitted,Which sector(s)?,Answer,Role,Region\n"


def export(tmp_path, rows, name="e.csv"):
    p = tmp_path / name
    p.write_text(HEADER + "".join(rows), encoding="utf-8")
    return p


ROWS = [
    "R1,2025-02-01,Education including schools,Schools should talk to us,YW,London\n",
    'R2,2025-02-01,"Education; Housing including housing associations",More funding,YW,\n',
    "R3,2025-02-01,All of the above,n/a,,\n",
    "R4,2025-02-01,All of the above,,,\n",
    "R5,2025-02-01,All of the above,Don't know.,,\n",
]


def test_reimport_same_file_changes_nothing_and_nonanswers_are_flagged(tmp_path):
    con = store.connect(":memory:")
    p = export(tmp_path, ROWS)
    first = importer.import_export(con, p, "2025-01", SECTORS)
    assert (first.status, first.n_rows, first.n_usable) == ("new", 5, 2)
    df = store.responses(con, "2025-01")
    assert df["nonanswer"].to_list() == [None, None, "non-answer", "empty", "non-answer"]
    assert df["sectors"].to_list()[1] == ["education", "housing"]
    again = importer.import_export(con, p, "2025-01", SECTORS)
    assert again.status == "unchanged"
    assert store.query(con, "SELECT count(*) AS n FROM joq_imports")["n"][0] == 1


def test_changed_file_is_reported_and_refused_unless_replace_keeping_decisions(tmp_path):
    con = store.connect(":memory:")
    importer.import_export(con, export(tmp_path, ROWS), "2025-01", SECTORS)
    con.execute("INSERT INTO joq_decisions VALUES ('2025-01','R1',['x'],false,NULL,'AB','t',1)")
    changed = [
        ROWS[0].replace("talk to us", "talk to us more"),
        ROWS[1],
        "R9,2025-02-01,All of the above,New answer,,\n",
    ]
    p2 = export(tmp_path, changed, "e2.csv")
    with pytest.raises(InputError) as err:
        importer.import_export(con, p2, "2025-01", SECTORS)
    msg = str(err.value)
    assert "adds 1 (R9)" in msg and "removes 3 (R3, R4, R5)" in msg and "changes 1 (R1)" in msg
    res = importer.import_export(con, p2, "2025-01", SECTORS, replace=True)
    assert (res.status, res.added, res.removed, res.changed) == (
        "replaced",
        ["R9"],
        ["R3", "R4", "R5"],
        ["R1"],
    )
    assert store.latest_decisions(con, "2025-01")["codes"].to_list() == [["x"]]


def test_missing_column_names_file_and_closest_header(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("Response ID,Submitted,Sector,Answr\nR1,x,All of the above,hi\n")
    with pytest.raises(InputError) as err:
        importer.import_export(store.connect(":memory:"), p, "2025-01", SECTORS)
    assert "bad.csv" in str(err.value) and "answer text" in str(err.value)
    assert "'Answr'" in str(err.value)


def test_unknown_sector_names_label_row_and_closest(tmp_path):
    p = export(tmp_path, ["R1,2025-02-01,Educatoin,Hello there,,\n"])
    with pytest.raises(InputError) as err:
        importer.import_export(store.connect(":memory:"), p, "2025-01", SECTORS)
    assert "row 2" in str(err.value) and "'Educatoin'" in str(err.value)
    assert "Education including schools" in str(err.value)


@pytest.mark.parametrize("text", ["n/a", "NA", " none ", "Nothing.", "?", "-", "dont know", ""])
def test_nonanswers(text):
    assert importer.nonanswer_reason(text) is not None


def test_real_answers_are_usable():
    assert importer.nonanswer_reason("No time to meet") is None
    assert importer.nonanswer_reason("None of the services talk") is None
