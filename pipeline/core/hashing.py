"""File digests used for provenance, change detection and cache keys: one streamed implementation."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 24  # 16 MiB: large exports and model weights are hashed without loading them whole


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def source_digest(*roots: Path) -> str:
    """SHA-256 over every ``.py`` file under ``roots`` (relative path + bytes, in sorted order): the
    code version in a cache key, so an edit to the code that computed a result recomputes it."""
    h = hashlib.sha256()
    for root in roots:
        root = Path(root)
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root.parent).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()
