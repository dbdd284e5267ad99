"""The pipeline's own error types.

Every problem a user can fix (a bad export, a broken spec) is raised as a ``JoinedupError`` carrying
the file, 1-based row and column where known, and the fix. The CLI prints ``str(err)`` and exits with
``err.exit_code``; nothing else should escape to the user as a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_LISTED = 25  # problems printed in full; the rest are counted

# Characters that must never reach a terminal or a report from an input file: NUL and the other
# C0/C1 controls (ESC starts terminal escape sequences), DEL, and the bidirectional overrides,
# embeddings, isolates and marks that can make text display in a different order than it reads.
# Tab and line breaks are ordinary text. ``POLARS_UNSAFE`` is the same set for polars' regex.
_UNSAFE_RANGES = (
    (0x00, 0x08),
    (0x0B, 0x0C),
    (0x0E, 0x1F),
    (0x7F, 0x9F),
    (0x061C, 0x061C),
    (0x200E, 0x200F),
    (0x202A, 0x202E),
    (0x2066, 0x2069),
)
UNSAFE = re.compile(
    "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in _UNSAFE_RANGES) + "]"
)
POLARS_UNSAFE = "[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _UNSAFE_RANGES) + "]"


_UNPRINTABLE = re.compile(UNSAFE.pattern[:-1] + "\r]")  # and CR, which can overwrite a line


def printable(text: str) -> str:
    """Text safe to print: each unsafe character shown as a visible escape such as ``\\x1b``
    or ``\\u202e``, so a message can name it without a terminal or viewer acting on it."""
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)


def strip_unsafe(text: str) -> str:
    """A respondent's value without the unsafe characters (they carry no meaning in an answer)."""
    return UNSAFE.sub("", text)


@dataclass
class Problem:
    """One located problem. ``row`` and ``column`` are 1-based as a spreadsheet shows them."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | int | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = [p for p in (self.file, _row(self.row), _col(self.column)) if p]
        text = (": ".join([", ".join(where), self.message]) if where else self.message).rstrip(".")
        return printable(f"{text}. Fix: {self.fix}" if self.fix else f"{text}.")


def _row(row: int | None) -> str | None:
    return None if row is None else f"row {row}"


def _col(column: str | int | None) -> str | None:
    if column is None:
        return None
    return f"column {column}" if isinstance(column, int) else f"column '{column}'"


class JoinedupError(Exception):
    """Base class: a problem the user can fix. Exit code 2, like a usage error."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | int | None = None,
        fix: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        self.problem = Problem(message, str(file) if file is not None else None, row, column, fix)
        self.problems: list[Problem] = problems or []
        super().__init__(str(self))

    def __str__(self) -> str:
        head = str(self.problem)
        if not self.problems:
            return head
        shown = [f"  - {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            shown.append(f"  ... and {len(self.problems) - MAX_LISTED} more")
        return "\n".join([head, *shown])


class InputError(JoinedupError):
    """An input file cannot be read as an export: encoding, shape, columns, values."""


class SpecError(JoinedupError):
    """A YAML spec (questionnaire, tables, coding frame, published figures) is invalid."""


class ValidationFailed(JoinedupError):
    """Data failed a pandera contract; ``problems`` lists every failure, never respondent text."""


class ReviewError(JoinedupError):
    """A returned review spreadsheet cannot be read back safely."""


@dataclass
class Problems:
    """Collects problems so a stage can report all of them at once, then raise."""

    items: list[Problem] = field(default_factory=list)

    def add(self, message: str, **where: object) -> None:
        self.items.append(Problem(message, **where))  # type: ignore[arg-type]

    def raise_if_any(self, error: type[JoinedupError], summary: str, **where: object) -> None:
        if self.items:
            n = len(self.items)
            raise error(
                f"{summary} ({n} problem{'s' if n != 1 else ''})", problems=self.items, **where
            )  # type: ignore[arg-type]
