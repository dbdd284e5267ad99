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
