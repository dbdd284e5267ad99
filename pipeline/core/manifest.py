"""Provenance: what went in, with which spec, code and packages, so any output can be traced."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

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


def build_manifest(**fields: object) -> dict[str, object]:
    """Common provenance plus the caller's fields (input, spec, seeds, model...)."""
    return {
        **fields,
        "packages": package_versions(),
        "git_commit": git_commit(),
        "generated_at": generation_stamp(),
    }
