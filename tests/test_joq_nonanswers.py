"""Non-answers are per question: shown, reviewable, configurable in the frame and on the command
line, and a reply a code carries (e.g. "nothing" to "what could we improve?") is kept."""

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from cli import app
from pipeline.core.embed import HashingEmbedder
from pipeline.core.errors import SpecError
from pipeline.joq import flow, store
from pipeline.joq import nonanswers as na
from pipeline.joq.frames import load_frame, load_taxonomy

TAXONOMY = {
    "version": 1,
    "themes": [
        {"id": "praise", "label": "Praise"},
        {"id": "other", "label": "Other"},
    ],
}


def frame(**extra):
    return {
        "month": "2025-01",
        "status": "reviewed",
        "question": "What could we improve?",
        "codes": [
            {"id": "fine", "label": "Nothing to improve", "theme": "praise", "include": []},
            {"id": "other", "label": "Other", "theme": "other"},
        ],
        **extra,
    }


ANSWERS = ["Nothing.", "nothing", "More parking", "n/a", "Don't know", "Shorter waits"]


@pytest.fixture
def month(tmp_path):
    def make(frame_data):
        (tmp_path / "frames" / "joq").mkdir(parents=True, exist_ok=True)
        (tmp_path / "frames" / "joq" / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
        (tmp_path / "frames" / "joq" / "2025-01.yaml").write_text(yaml.safe_dump(frame_data))
        lines = ["Response ID,Submitted,Answer"] + [
            f"R{i},2025-02-01,{a}" for i, a in enumerate(ANSWERS, start=1)
        ]
        (tmp_path / "export.csv").write_text("\n".join(lines) + "\n")
        return flow.Session(
            store.connect(tmp_path / "db.duckdb"),
            HashingEmbedder(),
            tmp_path / "out",
            tmp_path / "frames" / "joq",
        )

    return make, tmp_path


def usable(s):
    df = store.responses(s.con, "2025-01")
    return dict(zip(df["text"], df["usable"], strict=True))


def test_default_list_sets_nothing_aside_and_lists_what_it_set_aside(month):
    make, tmp = month
    s = make(frame())
    res = flow.run_import(s, tmp / "export.csv", "2025-01")
    assert res.n_usable == 2
    assert usable(s) == {
        "Nothing.": False,
        "nothing": False,
        "More parking": True,
        "n/a": False,
        "Don't know": False,
        "Shorter waits": True,
    }
    shown = pl.read_csv(tmp / "out" / "joq_2025-01" / "nonanswers.csv")
    assert shown.rows()[0] == ("nothing", "non-answer", 2)  # most frequent first
    assert set(shown["reply"]) == {"nothing", "n/a", "don't know"}


def test_frame_keep_and_extra_change_the_list(month):
    make, tmp = month
    s = make(frame(nonanswers={"keep": ["Nothing"], "extra": ["shorter waits"]}))
    flow.run_import(s, tmp / "export.csv", "2025-01")
    got = usable(s)
    assert got["Nothing."] and got["nothing"]
    assert not got["Shorter waits"]


def test_a_reply_a_code_carries_is_kept(month):
    make, tmp = month
    f = frame()
    f["codes"][0]["include"] = ["nothing"]
    s = make(f)
    flow.run_import(s, tmp / "export.csv", "2025-01")
    assert usable(s)["Nothing."] and usable(s)["nothing"]
    assert not usable(s)["n/a"]


def test_changed_list_reflags_the_same_file(month):
    make, tmp = month
    s = make(frame())
    flow.run_import(s, tmp / "export.csv", "2025-01")
    again = flow.run_import(s, tmp / "export.csv", "2025-01", keep_answers=["nothing"])
    assert again.status == "unchanged" and again.reflagged == 2 and again.n_usable == 4
    assert "re-flagged" in again.summary()
    assert (
        flow.run_import(s, tmp / "export.csv", "2025-01", keep_answers=["nothing"]).reflagged == 0
    )


def test_frame_nonanswers_block_is_validated(month):
    make, tmp = month
    make(frame(nonanswers={"keep": ["nothing"], "drop": ["x"]}))
    with pytest.raises(SpecError) as err:
        load_frame(
            "2025-01",
            tmp / "frames" / "joq",
            load_taxonomy(tmp / "frames" / "joq" / "taxonomy.yaml"),
        )
    assert "nonanswers.drop" in str(err.value.problems)


def test_cli_keep_answer_option(month):
    make, tmp = month
    make(frame())
    res = CliRunner().invoke(
        app,
        [
            "joq",
            "import",
            str(tmp / "export.csv"),
            "--month",
            "2025-01",
            "--db",
            str(tmp / "cli.duckdb"),
            "--frames",
            str(tmp / "frames" / "joq"),
            "--keep-answer",
            "nothing",
            "--nonanswer",
            "more parking",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "(3 usable)" in res.output and "non-answers set aside: 3" in res.output


def test_reason_and_listed_are_pure():
    assert na.reason("  Nothing!  ") == "non-answer"
    assert na.reason("Nothing", na.listed(keep=["nothing"])) is None
    assert na.reason("") == "empty" and na.reason("???!") == "no words"
    assert na.reason("Nothing at all to improve") is None
    assert "shorter waits" in na.listed(extra=["Shorter  waits."])
