"""Every failure is a message (issue 11 item 9): a read-only folder, a full disk, a damaged
database, a held output lock and Ctrl-C each end with one line on stderr and an exit code (2, or
130 for Ctrl-C), never a traceback, and the previous outputs stay as they were."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from pipeline.core.paths import REFERENCE_DATA
from pipeline.core.safety import atomic

runner = CliRunner()
EXPORT = str(REFERENCE_DATA / "interactions_2025_export.csv")


def survey_run(out: Path):
    # --fresh: these tests are about the writes of a run, so a re-run always writes
    return runner.invoke(
        app, ["survey", "run", EXPORT, "--out", str(out), "--no-suggest", "--fresh"]
    )


def assert_message(result, code: int, *phrases: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.output, result.output


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    assert survey_run(out).exit_code == 0
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_full_disk_is_a_message_and_the_previous_report_survives(previous, monkeypatch):
    before = _snapshot(previous)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    assert_message(survey_run(previous), 2, "the disk is full", "Fix:")
    monkeypatch.undo()
    assert _snapshot(previous) == before
    assert [p.name for p in previous.iterdir() if p.name.startswith(".")] == []


def test_a_read_only_output_folder_is_a_message(tmp_path, monkeypatch):
    # the suite runs as root, which ignores chmod; the kernel's answer is simulated instead
    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    monkeypatch.setattr(atomic.tempfile, "mkdtemp", read_only)
    result = survey_run(tmp_path / "out")
    assert_message(result, 2, "read-only file system", str(tmp_path / "out"), "--out")


def test_a_second_run_into_a_locked_output_folder_fails_at_once(tmp_path):
    import os

    out = tmp_path / "out"
    out.mkdir()
    lock = atomic.lock_path(out / "interactions_2025")
    lock.write_text(f'{{"pid": {os.getppid()}, "started": "2026-12-02T13:00:00Z"}}')
    result = survey_run(out)
    assert_message(result, 2, f"pid {os.getppid()}", "2026-12-02T13:00:00Z", str(lock))
    assert not (out / "interactions_2025").exists()


def test_a_damaged_database_file_is_a_message(tmp_path):
    db = tmp_path / "joq.duckdb"
    db.write_bytes(b"DUCK" + bytes(range(256)) * 40)
    csv = REFERENCE_DATA / "joq" / "2025-01_export.csv"
    result = runner.invoke(app, ["joq", "import", str(csv), "--month", "2025-01", "--db", str(db)])
    assert_message(result, 2, "damaged or is not a DuckDB database", "--db")


def test_a_database_with_corrupted_blocks_is_a_message(tmp_path):
    import duckdb

    db = tmp_path / "joq.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE joq_responses AS SELECT range AS a FROM range(200000)")
    con.close()
    data = bytearray(db.read_bytes())
    for i in range(12288, len(data), 7):
        data[i] = 0xAA
    db.write_bytes(bytes(data))
    result = runner.invoke(app, ["joq", "trends", "--db", str(db), "--out", str(tmp_path)])
    assert_message(result, 2, "--db")


@pytest.mark.parametrize(
    "interrupt",
    [lambda: KeyboardInterrupt(), lambda: RuntimeError("Query interrupted")],
    ids=["ctrl-c", "duckdb"],
)
def test_ctrl_c_during_joq_code_is_a_message_not_a_traceback(tmp_path, monkeypatch, interrupt):
    from pipeline.joq import flow

    def interrupted(*args, **kwargs):
        raise interrupt()  # a fresh exception: a shared one would keep its traceback alive

    monkeypatch.setattr(flow, "run_code", interrupted)
    db = str(tmp_path / "joq.duckdb")
    result = runner.invoke(app, ["joq", "code", "2025-01", "--db", db, "--dry-run"])
    assert_message(result, 130, "interrupted; nothing was written")


@pytest.mark.parametrize(
    ("duckdb_says", "expected"),
    [
        ('IO Error: Cannot open file "x.duckdb": Read-only file system', "cannot be written here"),
        ("IO Error: Could not set lock on file", "another program has the database open"),
        ("Corrupt database file: computed checksum 1 does not match", "damaged"),
    ],
)
def test_database_failures_are_named_for_what_the_user_can_do(duckdb_says, expected):
    from pipeline.joq.store import database_error

    err = database_error(RuntimeError(duckdb_says), "x.duckdb")
    assert err.exit_code == 2 and expected in str(err) and "--db" in str(err)
