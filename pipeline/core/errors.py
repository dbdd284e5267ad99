"""The pipeline's own error types.

Every problem a user can fix (a bad export, a broken spec) is raised as a ``JoinedupError`` carrying
the file, 1-based row and column where known, and the fix. The CLI prints ``str(err)`` and exits with
``err.exit_code``; nothing else should escape to the user as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MAX_LISTED = 25  # problems printed in full; the rest are counted


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
        return f"{text}. Fix: {self.fix}" if self.fix else f"{text}."


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
