"""Atomic writes: an output file or directory is either the complete new version or the old one.

A crash, a full disk or an exception half-way through never leaves a truncated CSV or a report
directory mixing two runs. Files go to a temporary name in the same directory (same filesystem, so
``os.replace`` is an atomic rename), are fsynced, then renamed over the target.

A whole output directory (``staged_dir``) is also guarded against a second run and against a kill:

- a lock file ``.<name>.lock`` beside it holds the pid and start time of the run writing it; a
  second run fails at once naming them, and a lock left by a dead process is taken over;
- the swap is ``final -> .<name>.old-*``, ``staged -> final``, then the old copy is deleted, so a
  kill between the renames leaves the complete old folder under its hidden name;
- the next run (holding the lock) restores that ``.old-*`` folder if ``final`` is missing, and
  deletes leftover ``.<name>.tmp-*`` / ``.<name>.old-*`` siblings (respondent data never lingers).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.timeutil import wall_clock_stamp


@functools.cache
def _umask() -> int:
    """The process umask, read once (reading it means setting it, so do it only once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable; best effort (not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via temp file + fsync + ``os.replace``; the temp never lingers."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes 0600 files; give the output the mode an ordinary write would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 with the newlines it already has (``\\n``, never ``os.linesep``)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _sibling(final: Path, tag: str) -> Path:
    """An unused hidden name beside ``final``, e.g. ``.report.old-3f9a1c2b``."""
    while True:
        candidate = final.parent / f".{final.name}.{tag}-{secrets.token_hex(4)}"
        if not candidate.exists():
            return candidate


# --- the output lock ----------------------------------------------------------------------------


class OutputLocked(InputError):
    """Another live run is writing the same output folder."""


def lock_path(final: Path) -> Path:
    """The lock file guarding ``final``: a hidden sibling, so the folder swap never touches it."""
    return final.parent / f".{final.name}.lock"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return False
    return True


def _read_lock(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _try_create_lock(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"pid": os.getpid(), "started": wall_clock_stamp()}, handle)
    return True


def _acquire(final: Path) -> Path:
    """Create the lock or fail at once naming its live holder; a dead holder's lock is taken over."""
    path = lock_path(final)
    for _ in range(5):
        if _try_create_lock(path):
            return path
        holder = _read_lock(path)
        pid = holder.get("pid")
        if isinstance(pid, int) and _alive(pid):
            raise OutputLocked(
                f"the output folder is being written by another run "
                f"(pid {pid}, started {holder.get('started', 'at an unknown time')})",
                file=final,
                fix=f"wait for that run to finish; if no such process exists, delete {path}",
            )
        # stale (dead pid, or a half-written lock): move it aside atomically, then retry
        aside = _sibling(final, "stale-lock")
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, aside)
            aside.unlink(missing_ok=True)
    raise OutputLocked(
        "could not take the output lock (it keeps changing hands)",
        file=final,
        fix="make sure only one joinedup run writes this folder, then run again",
    )


@contextlib.contextmanager
def output_lock(final: Path) -> Iterator[None]:
    """Hold ``final``'s lock for the duration; released (deleted) however the block ends."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    path = _acquire(final)
    try:
        yield
    finally:
        if _read_lock(path).get("pid") == os.getpid():
            path.unlink(missing_ok=True)


def recover(final: Path) -> list[Path]:
    """Undo what a killed run left beside ``final`` (call with the lock held); returns what went.

    If ``final`` is missing but a ``.old-*`` copy exists (killed between the two renames), the
    newest copy becomes ``final`` again. Every other ``.tmp-*``/``.old-*`` sibling is deleted.
    """
    final = Path(final)
    olds = sorted(
        final.parent.glob(f".{final.name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    if olds and not (final.exists() or final.is_symlink()):
        os.replace(olds.pop(0), final)
        _fsync_dir(final.parent)
    removed = [*olds, *final.parent.glob(f".{final.name}.tmp-*")]
    for leftover in removed:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return removed


@contextlib.contextmanager
def guarded(final: Path) -> Iterator[Path]:
    """Hold ``final``'s lock and recover what a killed run left, for writing files into
    ``final`` one by one (each still atomic): a concurrent whole-folder swap cannot drop them."""
    final = Path(final)
    with output_lock(final):
        recover(final)
        yield final


@contextlib.contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Yield an empty staging directory beside ``final``; swap it into place only on success.

    The folder's lock is held throughout (a concurrent run fails at once) and what a killed run
    left is recovered first. On normal exit the previous ``final`` (if any) is renamed aside, the
    staged directory renamed to ``final`` and the old one deleted. On an exception the staged
    directory is deleted and ``final`` is untouched. Either way no hidden directory is left behind.
    """
    with guarded(Path(final)) as final:
        staged = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            yield staged
            os.chmod(staged, 0o777 & ~_umask())
            _swap_into_place(staged, final)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise


def _swap_into_place(staged: Path, final: Path) -> None:
    """Rename ``staged`` to ``final``, keeping the old ``final`` until the new one is in place."""
    old: Path | None = None
    if final.exists() or final.is_symlink():
        old = _sibling(final, "old")
        os.replace(final, old)
    try:
        os.replace(staged, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    _fsync_dir(final.parent)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
