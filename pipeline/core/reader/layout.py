"""Detect an export's layout and turn its header rows into one (question, sub-label) per column.

SurveyMonkey: two header rows (question text, then "Response" / "Open-Ended Response" /
"Other (please specify)" / an option label; question text blank on continuation columns).
Qualtrics: three header rows (ids, question text, ``{"ImportId": ...}`` or the older single-quoted
form); the legacy V1..Vn export has two (ids, then question text). Plain: one header row, either
mapped column names or "Question - Option" labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pipeline.core.reader.grid import Grid
from pipeline.core.text import norm

Layout = Literal["surveymonkey", "qualtrics", "qualtrics_legacy", "plain"]
SM_MARKERS = {"response", "open-ended response", "other (please specify)"}
IMPORT_ID = re.compile(r"""^\{\s*["']ImportId["']\s*:""")


@dataclass(frozen=True)
class Header:
    """One column's header: 1-based column number, question text, sub-label (may be empty)."""

    column: int
    question: str
    sub: str
    key: str = ""  # Qualtrics' machine id row (e.g. "IPAddress"), when the layout has one

    @property
    def display(self) -> str:
        return f"{self.question} / {self.sub}" if self.sub else self.question


def detect_layout(grid: Grid) -> tuple[Layout, int]:
    """The layout and its number of header rows."""
    rows = grid.rows
    if len(rows) >= 3 and rows[2] and IMPORT_ID.match(rows[2][0].strip()):
        return "qualtrics", 3
    first = [c.strip() for c in rows[0]]
    if len(first) > 1 and re.fullmatch(r"V1", first[0]) and len(rows) >= 2 and _legacy_ids(first):
        return "qualtrics_legacy", 2
    if len(rows) >= 2 and _looks_like_surveymonkey(rows[0], rows[1]):
        return "surveymonkey", 2
    return "plain", 1


def _legacy_ids(first: list[str]) -> bool:
    return sum(bool(re.fullmatch(r"V\d+", c)) for c in first) >= 5


def _looks_like_surveymonkey(row1: list[str], row2: list[str]) -> bool:
    """Row 2 carries SurveyMonkey's sub-labels, and row 1 has blank continuation cells.

    A flattened one-row export (like FiveThirtyEight's Thanksgiving file) has data in row 2, which
    almost never contains the literal word "Response".
    """
    subs = {norm(c) for c in row2}
    blanks_in_row1 = sum(1 for c in row1[1:] if not c.strip())
    return bool(subs & SM_MARKERS) and blanks_in_row1 > 0


def headers(grid: Grid, layout: Layout) -> list[Header]:
    rows = grid.rows
    if layout == "surveymonkey":
        out, current = [], ""
        for j, (q, sub) in enumerate(zip(rows[0], rows[1], strict=True), start=1):
            current = q.strip() or current
            out.append(Header(j, current, sub.strip()))
        return out
    if layout in ("qualtrics", "qualtrics_legacy"):
        out = [_split(j, text) for j, text in enumerate(rows[1], start=1)]
        return [Header(h.column, h.question, h.sub, rows[0][h.column - 1].strip()) for h in out]
    return [_split(j, text) for j, text in enumerate(rows[0], start=1)]


def _split(column: int, text: str) -> Header:
    """'Question text - Option' becomes (question, option); a bare header has no sub-label."""
    text = text.strip()
    if " - " in text:
        q, _, sub = text.rpartition(" - ")
        return Header(column, q.strip(), sub.strip())
    return Header(column, text, "")
