"""Where the project's declared configuration lives. Data locations are passed in, never assumed."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
CODING_FRAMES = ROOT / "coding_frames"
TEMPLATES = ROOT / "reports" / "templates"
REFERENCE_DATA = ROOT / "data" / "reference"
DEFAULT_OUT = ROOT / "reports" / "out"
DEFAULT_DB = ROOT / "data" / "joinedup.duckdb"
