"""File digests used for provenance, change detection and cache keys: one streamed implementation."""

from __future__ import annotations

import hashlib
import json
import os
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


def remembered_sha256(path: Path, memo: Path) -> str:
    """``file_sha256`` of a large file that rarely changes (model weights, an export), remembered across runs
    in the JSON file ``memo`` under the file's resolved path, size, mtime, ctime and inode: any
    change to the file changes one of those, and it is hashed again. A memo that cannot be read
    or written only costs the hashing."""
    path = Path(path)
    st = path.stat()
    stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    key = str(path.resolve())
    try:
        known = json.loads(Path(memo).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    known = known if isinstance(known, dict) else {}
    entry = known.get(key)
    if (
        isinstance(entry, dict)
        and entry.get("stat") == stamp
        and isinstance(entry.get("sha256"), str)
    ):
        return entry["sha256"]
    digest = file_sha256(path)
    # entries of files that are gone are dropped, so the memo stays as small as the files it knows
    known = {k: v for k, v in known.items() if Path(k).exists()}
    known[key] = {"stat": stamp, "sha256": digest}
    tmp = Path(f"{memo}.{os.getpid()}.tmp")
    try:
        Path(memo).parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(known, sort_keys=True), encoding="utf-8")
        os.replace(tmp, memo)
    except OSError:
        tmp.unlink(missing_ok=True)
    return digest
