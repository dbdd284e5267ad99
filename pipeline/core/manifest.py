"""Provenance: what went in, with which spec, code and packages, so any output can be traced."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from pipeline.core.hashing import file_sha256
from pipeline.core.paths import REFERENCE_DATA, ROOT
from pipeline.core.timeutil import generation_stamp

PACKAGES = (
    "joinedup",
    "polars",
    "duckdb",
    "pandera",
    "scikit-learn",
    "sentence-transformers",
    "torch",
    "jinja2",
    "openpyxl",
    "typer",
    "phonenumbers",
)


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = done.stdout.strip() if done.returncode == 0 else "unknown"
    if commit != "unknown":
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        commit += "-dirty" if dirty else ""
    return commit


def synthetic_hashes(*folders: Path) -> set[str]:
    """SHA-256s listed in ``SYNTHETIC.sha256`` files: outputs from these inputs are labelled synthetic."""
    found: set[str] = set()
    for folder in (*folders, REFERENCE_DATA):
        listing = folder / "SYNTHETIC.sha256"
        if listing.exists():
            found |= {line.split()[0] for line in listing.read_text().splitlines() if line.strip()}
    return found


def is_synthetic(sha256: str, path: Path) -> bool:
    return sha256 in synthetic_hashes(path.parent)


ABSENT = "absent"


def tree_sha256(folder: Path) -> str:
    """One digest for a folder of files (e.g. the report templates): relative names and contents."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(file_sha256(path).encode() + b"\n")
    return h.hexdigest()


def input_hashes(paths: Mapping[str, Path | None]) -> dict[str, str]:
    """SHA-256 of every file (or folder) that decides a figure, by role; ``absent`` when there is
    none, so adding, changing or removing any of them changes the manifest."""
    out = {}
    for role, path in sorted(paths.items()):
        if path is None or not Path(path).exists():
            out[role] = ABSENT
        elif Path(path).is_dir():
            out[role] = tree_sha256(Path(path))
        else:
            out[role] = file_sha256(Path(path))
    return out


def build_manifest(**fields: object) -> dict[str, object]:
    """Common provenance plus the caller's fields (input, spec, seeds, model...)."""
    return {
        **fields,
        "packages": package_versions(),
        "git_commit": git_commit(),
        "generated_at": generation_stamp(),
    }
