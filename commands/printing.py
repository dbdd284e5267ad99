"""Respondent text made safe for a terminal line and for a YAML entry the analyst pastes."""

from __future__ import annotations

import json
import re
import unicodedata

from pipeline.core.safety.redact import Redactor

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def safe_line(text: str | None, limit: int) -> str:
    """One printable line: control, bidi and zero-width characters removed, personal details
    redacted, cut at ``limit`` characters with an ellipsis (the full text is in the CSV)."""
    t = _UNSAFE.sub(" ", unicodedata.normalize("NFC", text or ""))
    t = Redactor().redact(" ".join(t.split()))
    return t if len(t) <= limit else t[: limit - 1] + "…"


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)
