"""Where the project's declared configuration lives. Data locations are passed in, never assumed."""

from __future__ import annotations

import os
from pathlib import Path

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
