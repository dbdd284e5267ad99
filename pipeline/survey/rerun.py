"""Re-runs with nothing changed: the report folder already written for exactly these inputs.

A finished run leaves ``working/run_key.json``: a SHA-256 key over everything that decides its
bytes (the export, every decisive spec and lookup file, the templates, the source of
``pipeline/``, the package versions, the run's options, the pseudonym key's fingerprint and
``SOURCE_DATE_EPOCH``) and the SHA-256 of every file the run wrote. A later run whose key matches,
over a folder whose files all still hash as written, has nothing to compute: ``survey run`` says
so and leaves the folder as it is (``--fresh`` recomputes anyway). Any difference, a missing or
edited output included, runs everything again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from pipeline.core.hashing import file_sha256, remembered_sha256, source_digest
from pipeline.core.manifest import input_hashes, package_versions
from pipeline.core.paths import user_cache_dir

RECORD = "run_key.json"
PIPELINE = Path(__file__).resolve().parents[1]  # pipeline/


def run_key(
    export: Path,
    inputs: Mapping[str, Path | None],
    options: Mapping[str, object],
    key_fingerprint: str,
) -> str:
    """The key of a run: equal keys mean equal outputs (the pipeline is deterministic). The
    export's hash is remembered by file stat (size, mtime, ctime, inode), so a 2 GB export is
    not read once more only to find out whether the run can be skipped; ingest hashes it anyway
    in its own pass."""
    parts = {
        "export": remembered_sha256(Path(export), user_cache_dir() / "export_sha256.json"),
        "inputs": input_hashes(inputs),
        "code": source_digest(PIPELINE),
        "packages": package_versions(),
        "options": {k: options[k] for k in sorted(options)},
        "key_fingerprint": key_fingerprint,
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _files(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): file_sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != RECORD
    }


def write_record(folder: Path, working: str, key: str) -> None:
    """Called last inside the staged folder: the key and the hash of every file written."""
    record = {"key": key, "files": _files(folder)}
    target = folder / working / RECORD
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def unchanged(folder: Path, working: str, key: str) -> bool:
    """True when ``folder`` was written by a run with this key and every file it wrote is still
    there, byte for byte (a file a person edited or deleted means run again)."""
    try:
        record = json.loads((folder / working / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("key") != key:
        return False
    files = record.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for rel, digest in files.items():
        path = folder / rel
        if not path.is_file() or file_sha256(path) != digest:
            return False
    return True
