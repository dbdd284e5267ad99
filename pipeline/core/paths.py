"""Where the project's declared configuration lives. Data locations are passed in, never assumed."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline.core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
CODING_FRAMES = ROOT / "coding_frames"
TEMPLATES = ROOT / "reports" / "templates"
REFERENCE_DATA = ROOT / "data" / "reference"
DEFAULT_OUT = ROOT / "reports" / "out"
DEFAULT_DB = ROOT / "data" / "joinedup.duckdb"
CACHE_ENV = "JOINEDUP_CACHE_DIR"


def user_cache_dir() -> Path:
    """Where derived, re-computable data (embedding vectors) is kept between runs:
    ``$JOINEDUP_CACHE_DIR``, else ``$XDG_CACHE_HOME/joinedup``, else ``~/.cache/joinedup``."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "joinedup"


# --- names that become paths ---------------------------------------------------------------------
# A survey name or month is joined onto a folder, so a hostile or mistyped one ("../../x",
# "/etc/passwd", "2025-01/../../x") must be refused before it can reach the file system.

SURVEY_NAME = re.compile(r"^[a-z0-9_]+$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_survey_name(name: str, *, file: str | Path | None = None) -> str:
    """A survey name is lower-case letters, digits and underscores (it names folders)."""
    if not SURVEY_NAME.fullmatch(str(name)):
        raise InputError(
            f"survey name {str(name)[:60]!r} is not lower-case letters, digits and underscores",
            file=file,
            column="survey",
            fix="use a name like interactions_2025, or pass the path of a questionnaire .yaml",
        )
    return str(name)


def check_month(month: str) -> str:
    """A month is ``YYYY-MM`` (it names files and folders)."""
    if not MONTH.fullmatch(str(month)):
        raise InputError(
            f"month {str(month)[:40]!r} is not a month written YYYY-MM", fix="e.g. 2025-01"
        )
    return str(month)


def output_dir(root: Path, name: str) -> Path:
    """``root/name``, refused unless it resolves to a folder directly inside ``root``."""
    base = Path(root).resolve()
    target = (base / name).resolve()
    if target.parent != base:
        raise InputError(
            f"output folder {name[:60]!r} would be outside the output root",
            file=root,
            fix="use a plain name (letters, digits, underscores) for the survey or month",
        )
    return Path(root) / name
