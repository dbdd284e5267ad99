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


def decide(con, rid, codes, seq):
    con.execute(
        "INSERT INTO joq_decisions (month, response_id, codes, exclude_quote, note, coder, "
        "decided_at, seq) VALUES ('2025-01', ?, ?, false, NULL, 'AB', 't', ?)",
        [rid, codes, seq],
    )


def test_changed_file_is_reported_and_refused_unless_replace(tmp_path):
    con = store.connect(":memory:")
    importer.import_export(con, export(tmp_path, ROWS), "2025-01", SECTORS)
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


def test_replace_keeps_decisions_on_unchanged_text_flags_changed_ones_and_needs_recode(tmp_path):
    con = store.connect(":memory:")
    importer.import_export(con, export(tmp_path, ROWS), "2025-01", SECTORS)
    decide(con, "R1", ["talk"], 1)
    decide(con, "R2", ["money"], 2)
    fixed = [ROWS[0].replace("talk to us", "talk to us more"), ROWS[1], *ROWS[2:]]
    res = importer.import_export(
        con, export(tmp_path, fixed, "fixed.csv"), "2025-01", SECTORS, replace=True
    )
    assert res.flagged == ["R1"]
    assert "R1" in res.summary() and "joinedup joq code 2025-01" in res.summary()
    latest = store.latest_decisions(con, "2025-01")
    assert latest["response_id"].to_list() == ["R2"]  # R1's decision was about another text
    assert store.query(con, "SELECT count(*) AS n FROM joq_decisions")["n"][0] == 2  # none lost
    assert store.stale_ids(con, "2025-01") == ["R1"]
    with pytest.raises(InputError) as err:
        store.require_current(con, "2025-01")
    assert "needs re-coding" in str(err.value) and "joinedup joq code 2025-01" in str(err.value)
    decide(con, "R1", ["talk"], 3)  # a coder decides again on the new text
    assert store.stale_ids(con, "2025-01") == []
    assert sorted(store.latest_decisions(con, "2025-01")["response_id"]) == ["R1", "R2"]


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


# --- real exports through the core reader (issue 12 item 1, issue 11 item 7) -------------------


def sm_xlsx(tmp_path, rows, name="sm.xlsx"):
    """A SurveyMonkey 'expanded' XLSX: two header rows, metadata columns, a multi-choice sector
    question spread over option columns, the open question, and a quote-consent question."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    q = "What one change would help you work with other sectors?"
    ws.append(
        [
            "Respondent ID",
            "Collector ID",
            "Start Date",
            "End Date",
            "IP Address",
            "Which sector(s)?",
            "",
            "What is your role?",
            q,
            "Are you happy for us to quote your answer anonymously?",
        ]
    )
    ws.append(
        [
            "",
            "",
            "",
            "",
            "",
            "Education including schools",
            "Housing including housing associations",
            "Response",
            "Open-Ended Response",
            "Response",
        ]
    )
    for r in rows:
        ws.append(r)
    p = tmp_path / name
    wb.save(p)
    return p


SM_ROWS = [
    [
        111,
        9,
        "2025-02-01",
        "2025-02-01",
        "1.2.3.4",
        "Education including schools",
        "",
        "YW",
        "Schools should share plans",
        "Yes",
    ],
    [
        112,
        9,
        "2025-02-01",
        "2025-02-02",
        "1.2.3.5",
        "",
        "Housing including housing associations",
        "Manager",
        "Money for joint posts",
        "No",
    ],
    [
        113,
        9,
        "2025-02-01",
        "2025-02-02",
        "1.2.3.6",
        "Education including schools",
        "Housing including housing associations",
        "YW",
        "Meet the housing team monthly",
        "",
    ],
]


def test_surveymonkey_xlsx_with_consent_column_imports_answers_and_consent(tmp_path):
    con = store.connect(":memory:")
    res = importer.import_export(con, sm_xlsx(tmp_path, SM_ROWS), "2025-01", SECTORS[:2])
    assert res.layout == "surveymonkey" and res.n_rows == 3
    df = store.responses(con, "2025-01")
    assert df["text"].to_list()[0] == "Schools should share plans"
    assert df["consent"].to_list() == [True, False, False]  # blank: not consented
    assert df["sectors"].to_list() == [["education"], ["housing"], ["education", "housing"]]
    assert df["row_number"].to_list() == [3, 4, 5]
    assert df["role"].to_list() == ["YW", "Manager", "YW"]
    assert "1.2.3.4" not in str(df.rows())  # identifying columns never stored
    assert res.columns["consent"].startswith("Are you happy for us to quote")
    assert "quote consent: 1 of 3" in res.summary()


def test_a_consent_question_is_never_taken_as_the_answer(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(
        "Response ID,Submitted,Are you happy for us to quote your answer anonymously?\n"
        "R1,2025-02-01,Yes\nR2,2025-02-01,No\n"
    )
    con = store.connect(":memory:")
    with pytest.raises(InputError) as err:
        importer.import_export(con, p, "2025-01")
    assert "missing column 'answer text'" in str(err.value)
    with pytest.raises(InputError) as err:
        importer.import_export(
            con,
            p,
            "2025-01",
            chosen={"answer": "Are you happy for us to quote your answer anonymously?"},
        )
    assert "consent question" in str(err.value)


def test_a_yes_no_column_is_refused_as_the_answer(tmp_path):
    p = tmp_path / "yn.csv"
    p.write_text("Response ID,Submitted,Answer\nR1,x,Yes\nR2,x,No\nR3,x,yes\n")
    with pytest.raises(InputError) as err:
        importer.import_export(store.connect(":memory:"), p, "2025-01")
    assert "Yes/No" in str(err.value) and "--answer-column" in str(err.value)


def test_two_possible_answer_columns_are_refused_until_one_is_chosen(tmp_path):
    p = tmp_path / "two.csv"
    p.write_text("Response ID,Submitted,Answer,Comment\nR1,x,Talk more,Thanks\n")
    con = store.connect(":memory:")
    with pytest.raises(InputError) as err:
        importer.import_export(con, p, "2025-01")
    msg = str(err.value)
    assert "2 columns could be the answer" in msg and "'Comment' (column 4)" in msg
    assert "--answer-column" in msg
    res = importer.import_export(con, p, "2025-01", chosen={"answer": "Comment"})
    assert store.responses(con, "2025-01")["text"].to_list() == ["Thanks"]
    assert res.columns["answer"] == "Comment"


def test_duplicate_answer_column_is_refused_and_can_be_chosen_by_number(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("Response ID,Submitted,Answer,Answer\nR1,x,Talk more,Old text\n")
    con = store.connect(":memory:")
    with pytest.raises(InputError) as err:
        importer.import_export(con, p, "2025-01")
    assert "2 columns are headed 'Answer'" in str(err.value)
    importer.import_export(con, p, "2025-01", chosen={"answer": "3"})
    assert store.responses(con, "2025-01")["text"].to_list() == ["Talk more"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (HEADER, "no answers"),  # header only (was a TypeError, exit 1)
        (HEADER + 'R1,2025-02-01,All of the above,"Schools should', "malformed CSV"),  # cut
        (HEADER + "R1,2025-02-01,All of the above,Talk,YW,London,extra\n", "number of cells"),
        (HEADER + "R1,2025-02-01\n", "number of cells"),
    ],
)
def test_broken_exports_are_refused_with_a_message(tmp_path, body, expected):
    p = tmp_path / "broken.csv"
    p.write_text(body)
    with pytest.raises(InputError) as err:
        importer.import_export(store.connect(":memory:"), p, "2025-01", SECTORS)
    assert expected in str(err.value) and "broken.csv" in str(err.value)


def test_undecodable_bytes_are_refused_never_replaced(tmp_path):
    p = tmp_path / "enc.csv"
    p.write_bytes(HEADER.encode() + b"R1,2025-02-01,All of the above,caf\x81 talk,,\n")
    with pytest.raises(InputError) as err:
        importer.import_export(store.connect(":memory:"), p, "2025-01", SECTORS)
    assert "cannot decode byte 0x81" in str(err.value)


def test_qualtrics_three_row_export(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text(
        "StartDate,EndDate,ResponseId,Q1,Q2\n"
        "Start Date,End Date,Response ID,What one change would help?,What is your role?\n"
        '"{""ImportId"":""startDate""}","{""ImportId"":""endDate""}","{""ImportId"":""_recordId""}",'
        '"{""ImportId"":""QID1_TEXT""}","{""ImportId"":""QID2""}"\n'
        "2025-02-01,2025-02-01,R_abc,Share data,YW\n"
    )
    con = store.connect(":memory:")
    res = importer.import_export(con, p, "2025-01", question="What one change would help?")
    df = store.responses(con, "2025-01")
    assert res.layout == "qualtrics" and df["response_id"].to_list() == ["R_abc"]
    assert df["text"].to_list() == ["Share data"] and df["row_number"].to_list() == [4]


def test_saved_mapping_file_is_validated_and_used(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("columns:\n  answer: Comment\n  region: none\n")
    assert importer.load_mapping(m) == {"answer": "Comment", "region": "none"}
    m.write_text("columns:\n  answr: Comment\n")
    from pipeline.core.errors import SpecError

    with pytest.raises(SpecError) as err:
        importer.load_mapping(m)
    assert "unknown role(s) answr" in str(err.value)


def test_cli_header_only_file_is_exit_2_and_answer_column_chooses(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    db = str(tmp_path / "db.duckdb")  # no frame for the month: sectors not required
    p = tmp_path / "h.csv"
    p.write_text("Response ID,Submitted,Answer,Comment\n")
    res = CliRunner().invoke(
        app, ["joq", "import", str(p), "--month", "2025-01", "--db", db, "--frames", str(tmp_path)]
    )
    assert res.exit_code == 2 and "no answers" in res.output and "Traceback" not in res.output
    p.write_text("Response ID,Submitted,Answer,Comment\nR1,x,Talk more,Thanks\n")
    res = CliRunner().invoke(
        app, ["joq", "import", str(p), "--month", "2025-01", "--db", db, "--frames", str(tmp_path)]
    )
    assert res.exit_code == 2 and "--answer-column" in res.output
    res = CliRunner().invoke(
        app,
        [
            "joq",
            "import",
            str(p),
            "--month",
            "2025-01",
            "--db",
            db,
            "--frames",
            str(tmp_path),
            "--answer-column",
            "Answer",
        ],
    )
    assert res.exit_code == 0 and "answer = 'Answer'" in res.output


def test_a_mapping_name_is_a_saved_name_never_a_path_outside_the_frames_folder(tmp_path):
    import duckdb

    from pipeline.joq.flow import Session, mapping_file

    frames = tmp_path / "frames"
    (frames / "mappings").mkdir(parents=True)
    (frames / "mappings" / "youth_joq.yaml").write_text("columns:\n  answer: Comment\n")
    (tmp_path / "outside.yaml").write_text("columns:\n  answer: Comment\n")
    s = Session(duckdb.connect(), lambda: None, tmp_path / "out", frames)
    assert mapping_file(s, "youth_joq") == frames / "mappings" / "youth_joq.yaml"
    with pytest.raises(InputError) as err:
        mapping_file(s, "../../outside")
    assert "not a saved name" in str(err.value) and "--save-mapping" in str(err.value)
