"""Outputs appear complete or not at all: atomic files and staged output directories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.core.safety import atomic
from pipeline.core.safety.atomic import atomic_write_bytes, atomic_write_text, staged_dir


class Boom(RuntimeError):
    """An exception injected part-way through writing outputs."""


def hidden_leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_atomic_write_text_writes_utf8_with_unix_newlines(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    atomic_write_text(target, "naïve,£5k\nline two\n")
    assert target.read_bytes() == "naïve,£5k\nline two\n".encode()
    assert hidden_leftovers(tmp_path) == []


def test_atomic_write_replaces_existing_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old contents that are longer")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"


def test_atomic_write_failure_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    def failing_replace(src: object, dst: object) -> None:
        raise Boom("disk went away")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(Boom):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert hidden_leftovers(tmp_path) == []


def test_atomic_write_gives_ordinary_file_mode_not_0600(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    atomic_write_text(target, "x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~atomic._umask()


def test_staged_dir_is_hidden_fresh_and_beside_final(tmp_path: Path) -> None:
    final = tmp_path / "report"
    with staged_dir(final) as staged:
        assert staged.parent == tmp_path
        assert staged.name.startswith(".report.tmp-")
        assert list(staged.iterdir()) == []


def test_staged_dir_swaps_in_all_outputs_on_success(tmp_path: Path) -> None:
    final = tmp_path / "report"
    final.mkdir()
    (final / "stale.csv").write_text("from the previous run")
    with staged_dir(final) as staged:
        atomic_write_text(staged / "table.csv", "a,b\n")
        atomic_write_text(staged / "index.html", "<p>ok</p>\n")
    assert sorted(p.name for p in final.iterdir()) == ["index.html", "table.csv"]
    assert hidden_leftovers(tmp_path) == []


def test_staged_dir_creates_final_when_absent(tmp_path: Path) -> None:
    final = tmp_path / "nested" / "report"
    with staged_dir(final) as staged:
        (staged / "a.txt").write_text("a")
    assert (final / "a.txt").read_text() == "a"
    assert hidden_leftovers(final.parent) == []


def test_staged_dir_exception_mid_run_leaves_final_exactly_as_it_was(tmp_path: Path) -> None:
    final = tmp_path / "report"
    final.mkdir()
    (final / "table.csv").write_text("previous good run")
    with pytest.raises(Boom), staged_dir(final) as staged:
        atomic_write_text(staged / "table.csv", "half of the new run")
        raise Boom("a later table failed")
    assert sorted(p.name for p in final.iterdir()) == ["table.csv"]
    assert (final / "table.csv").read_text() == "previous good run"
    assert hidden_leftovers(tmp_path) == []


def test_staged_dir_exception_when_no_previous_output_leaves_nothing(tmp_path: Path) -> None:
    final = tmp_path / "report"
    with pytest.raises(Boom), staged_dir(final) as staged:
        (staged / "a.txt").write_text("a")
        raise Boom
    assert list(tmp_path.iterdir()) == []


def test_staged_dir_failed_swap_restores_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "report"
    final.mkdir()
    (final / "table.csv").write_text("previous good run")
    real_replace = os.replace

    def replace_failing_on_staged(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        if Path(src).name.startswith(".report.tmp-"):
            raise Boom("rename of the staged directory failed")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace_failing_on_staged)
    with pytest.raises(Boom), staged_dir(final) as staged:
        (staged / "table.csv").write_text("new run")
    assert (final / "table.csv").read_text() == "previous good run"
    assert hidden_leftovers(tmp_path) == []


# --- issue 11 item 4: lock, kill-safe swap, recovery ------------------------------------------

KILL_BETWEEN_RENAMES = """
import os, sys
from pathlib import Path
from pipeline.core.safety import atomic

real = os.replace
calls = []

def replace(src, dst):
    calls.append(src)
    if len(calls) == 2:  # the staged folder is about to become final: die like kill -9
        os._exit(9)
    real(src, dst)

atomic.os.replace = replace
with atomic.staged_dir(Path(sys.argv[1])) as staged:
    (staged / "table.csv").write_text("new run")
"""


def _killed_between_renames(final: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(final)], check=False)
    assert done.returncode == 9


def test_a_kill_between_the_two_renames_keeps_the_old_folder_whole(tmp_path: Path) -> None:
    final = tmp_path / "report"
    final.mkdir()
    (final / "review.xlsx").write_text("the coder's edits")
    _killed_between_renames(final)
    assert not final.exists()  # the moment of the kill: the old copy sits under a hidden name
    (old,) = tmp_path.glob(".report.old-*")
    assert (old / "review.xlsx").read_text() == "the coder's edits"


def test_the_next_run_restores_a_folder_left_by_a_kill_and_removes_temporaries(
    tmp_path: Path,
) -> None:
    final = tmp_path / "report"
    final.mkdir()
    (final / "review.xlsx").write_text("the coder's edits")
    _killed_between_renames(final)
    assert list(tmp_path.glob(".report.tmp-*"))  # the killed run's staged respondent data
    with pytest.raises(Boom), staged_dir(final):
        raise Boom("this run fails too")
    assert (final / "review.xlsx").read_text() == "the coder's edits"
    assert hidden_leftovers(tmp_path) == []


def test_stale_temporary_folders_are_cleaned_on_the_next_run(tmp_path: Path) -> None:
    final = tmp_path / "report"
    final.mkdir()
    (tmp_path / ".report.tmp-dead1").mkdir()
    (tmp_path / ".report.tmp-dead1" / "responses.csv").write_text("respondent data")
    (tmp_path / ".report.old-dead2").mkdir()
    with staged_dir(final) as staged:
        (staged / "a.txt").write_text("a")
    assert hidden_leftovers(tmp_path) == []
    assert (final / "a.txt").read_text() == "a"


def test_recover_leaves_an_intact_folder_alone(tmp_path: Path) -> None:
    final = tmp_path / "report"
    final.mkdir()
    (final / "a.txt").write_text("current")
    (tmp_path / ".report.old-1234abcd").mkdir()
    atomic.recover(final)
    assert (final / "a.txt").read_text() == "current"
    assert hidden_leftovers(tmp_path) == []


def test_a_second_concurrent_run_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    import subprocess
    import sys

    final = tmp_path / "report"
    final.mkdir()
    (final / "a.txt").write_text("first run's output")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        atomic.lock_path(final).write_text(
            f'{{"pid": {holder.pid}, "started": "2026-12-02T13:00:00Z"}}'
        )
        with pytest.raises(atomic.OutputLocked) as err, staged_dir(final) as staged:
            (staged / "a.txt").write_text("second run")
        assert err.value.exit_code == 2
        message = str(err.value)
        assert f"pid {holder.pid}" in message and "2026-12-02T13:00:00Z" in message
        assert str(atomic.lock_path(final)) in message  # the fix names the lock file
    finally:
        holder.kill()
        holder.wait()
    assert (final / "a.txt").read_text() == "first run's output"
    assert atomic.lock_path(final).exists()  # the live holder's lock is not ours to remove


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    import subprocess
    import sys

    final = tmp_path / "report"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    final.parent.mkdir(parents=True, exist_ok=True)
    atomic.lock_path(final).write_text(f'{{"pid": {dead.pid}, "started": "yesterday"}}')
    with staged_dir(final) as staged:
        (staged / "a.txt").write_text("a")
    assert (final / "a.txt").read_text() == "a"
    assert hidden_leftovers(tmp_path) == []


def test_a_garbled_lock_file_is_treated_as_stale(tmp_path: Path) -> None:
    final = tmp_path / "report"
    final.parent.mkdir(parents=True, exist_ok=True)
    atomic.lock_path(final).write_text("{not json")
    with staged_dir(final) as staged:
        (staged / "a.txt").write_text("a")
    assert hidden_leftovers(tmp_path) == []


def test_the_lock_is_held_while_staging_and_released_after(tmp_path: Path) -> None:
    final = tmp_path / "report"
    with staged_dir(final):
        assert f'"pid": {os.getpid()}' in atomic.lock_path(final).read_text()
    assert not atomic.lock_path(final).exists()


def test_files_written_one_by_one_take_the_same_lock_and_recover_first(tmp_path: Path) -> None:
    import subprocess
    import sys

    final = tmp_path / "joq_2025-01"
    final.mkdir()
    (final / "review.xlsx").write_text("the coder's sheet")
    _killed_between_renames(final)  # a `joq report` killed mid-swap
    with atomic.guarded(final) as folder:  # e.g. `joq code` writing other_review.csv
        assert (folder / "review.xlsx").read_text() == "the coder's sheet"
        atomic_write_text(folder / "other_review.csv", "x\n")
    assert hidden_leftovers(tmp_path) == []
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        atomic.lock_path(final).write_text(f'{{"pid": {holder.pid}, "started": "now"}}')
        with pytest.raises(atomic.OutputLocked), atomic.guarded(final):
            pass
    finally:
        holder.kill()
        holder.wait()
