"""Atomic writes: an output file or directory is either the complete new version or the old one.

A crash, a full disk or an exception half-way through never leaves a truncated CSV or a report
directory mixing two runs. Files go to a temporary name in the same directory (same filesystem, so
``os.replace`` is an atomic rename), are fsynced, then renamed over the target.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


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


@contextlib.contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Yield an empty staging directory beside ``final``; swap it into place only on success.

    On normal exit the previous ``final`` (if any) is renamed aside, the staged directory renamed
    to ``final`` and the old one deleted. On an exception the staged directory is deleted and
    ``final`` is untouched. Either way no hidden temporary directory is left behind. Two processes
    staging the same ``final`` at once are not supported (the second swap fails loudly).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
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
