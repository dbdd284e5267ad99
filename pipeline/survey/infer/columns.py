"""An export's columns, profiled and grouped into question candidates, from the file alone.

Each column gets its header key (``ingest.declared.header_keys``), a role (respondent id, start
or end time, identifying, other metadata, or a question column) and the distinct answers it holds.
Question columns are then grouped the way each layout writes a question: SurveyMonkey starts a
question where row 1 has text, a one-row export where the part before " - " changes, Qualtrics
where the column id's stem (``Q2`` of ``Q2_1``, ``Q2_1_TEXT``) changes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.reader.grid import Grid, read_grid
from pipeline.core.reader.layout import Header, Layout, detect_layout, headers
from pipeline.core.text import norm
from pipeline.survey.ingest.declared import QUALTRICS, header_keys, is_identifying, is_name_column

META_ROLES = {
    "respondentid": "respondent_id",
    "responseid": "respondent_id",
    "recordid": "respondent_id",
    "collectorid": "collector_id",
    "startdate": "started",
    "enddate": "ended",
}
OTHER_META = {
    "responseset": "Qualtrics response set",
    "status": "response status (export metadata)",
    "finished": "finished flag (export metadata)",
    "progress": "progress percentage (export metadata)",
    "duration(inseconds)": "duration (export metadata)",
    "recordeddate": "recorded date (export metadata)",
    "distributionchannel": "distribution channel (export metadata)",
    "userlanguage": "respondent's interface language (export metadata)",
    "locationaccuracy": "location accuracy (export metadata)",
}
TEXT_ANALYSIS = re.compile(r" - (topics|parent topics|sentiment.*|actionability)$")
QUALTRICS_ID = re.compile(r"^(?P<stem>.+?)(?P<sub>(?:_[0-9]+)*)(?P<text>_TEXT)?$")


@dataclass
class Column:
    """One export column: where it is, its header, its role and what respondents wrote in it."""

    index: int  # 0-based grid column
    header: Header
    key: str
    starts_question: bool  # SurveyMonkey: row 1 has text here
    role: str = (
        "question"  # question, respondent_id, collector_id, started, ended, identifying, ignored
    )
    reason: str = ""
    name_column: bool = False
    counts: Counter[str] = field(default_factory=Counter)  # stripped answer -> rows
    first_seen: dict[str, int] = field(default_factory=dict)  # answer -> first row index

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def answered(self) -> int:
        return sum(self.counts.values())

    @property
    def values(self) -> list[str]:
        """Distinct answers in the order they first appear in the file."""
        return sorted(self.counts, key=lambda v: self.first_seen[v])


@dataclass
class Profile:
    """The export as ``survey init`` sees it: layout, columns, and per-row answer patterns."""

    path: Path
    grid: Grid
    layout: Layout
    header_rows: int
    columns: list[Column]
    rows: int

    def question_columns(self) -> list[Column]:
        return [c for c in self.columns if c.role == "question"]

    _cells: dict[int, list[str]] = field(default_factory=dict, repr=False)

    def cells(self, col: Column) -> list[str]:
        """Stripped cells of one column, one per response row ('' when blank); read once."""
        if col.index not in self._cells:
            s = self.grid.column(col.index, self.header_rows)
            self._cells[col.index] = [v.strip() for v in s.to_list()]
        return self._cells[col.index]


def profile_export(path: Path, sheet: str | None = None) -> Profile:
    grid = read_grid(Path(path), sheet)
    layout, header_rows = detect_layout(grid)
    hs = headers(grid, layout)
    keys = header_keys(hs, layout)
    first_row = grid.rows[0] if grid.rows else []
    cols = []
    for h, key in zip(hs, keys, strict=True):
        starts = layout != "surveymonkey" or bool(first_row[h.column - 1].strip())
        col = Column(h.column - 1, h, key, starts)
        _assign_role(col, layout)
        cols.append(col)
    prof = Profile(Path(path), grid, layout, header_rows, cols, max(grid.height - header_rows, 0))
    for col in cols:
        if col.role in ("question", "ignored"):
            for i, v in enumerate(prof.cells(col)):
                if v:
                    col.counts[v] += 1
                    col.first_seen.setdefault(v, i)
    for col in cols:  # a column no one answered and with no header is not a question
        if col.role == "question" and not col.counts and col.key.startswith("(column "):
            col.role, col.reason = "ignored", "blank header and no answers"
    return prof


def _squash(text: str) -> str:
    return re.sub(r"[\s_]", "", norm(text))


def _assign_role(col: Column, layout: Layout) -> None:
    h = col.header
    if is_identifying(h):
        col.role, col.reason = "identifying", "identifying (dropped at ingest, never read)"
        col.name_column = is_name_column(h)
        return
    names = [_squash(h.key)] if h.key else []
    if not h.sub or layout in QUALTRICS:
        names.append(_squash(h.question))
    for n in names:
        if n in META_ROLES:
            col.role, col.reason = META_ROLES[n], "export metadata"
            return
        if n in OTHER_META:
            col.role, col.reason = "ignored", OTHER_META[n]
            return
    if TEXT_ANALYSIS.search(norm(h.key or h.question)):
        col.role, col.reason = "ignored", "Qualtrics text-analysis output, not an answer"


@dataclass
class Group:
    """Consecutive question columns that one question wrote."""

    text: str  # the question text
    columns: list[Column]
    subs: list[str]  # each column's sub-label (option, matrix item, 'Response', ...)
    stem: str = ""  # Qualtrics column-id stem


def group_columns(prof: Profile) -> list[Group]:
    groups: list[Group] = []
    last_key: str | None = None
    for col in prof.question_columns():
        key = _group_key(col, prof.layout)
        if (
            groups
            and key == last_key
            and not (prof.layout == "surveymonkey" and col.starts_question)
        ):
            groups[-1].columns.append(col)
        else:
            groups.append(Group(col.header.question, [col], [], _stem(col)))
        last_key = key
    for g in groups:
        g.subs = _subs(g, prof.layout)
        if prof.layout in QUALTRICS:
            g.text = _common_text([c.header.display for c in g.columns])
    return groups


def _stem(col: Column) -> str:
    m = QUALTRICS_ID.match(col.header.key or "")
    return m.group("stem") if m else ""


def _group_key(col: Column, layout: Layout) -> str:
    if layout in QUALTRICS:
        return _stem(col) or col.key
    return col.header.question


def _common_text(texts: list[str]) -> str:
    """The question text shared by a Qualtrics group's headers ('Question-Item' each)."""
    if len(texts) == 1:
        return texts[0]
    prefix = texts[0]
    for t in texts[1:]:
        while not t.startswith(prefix):
            prefix = prefix[:-1]
    cut = prefix.rstrip()
    if cut.endswith("/"):  # 'Question / Item' (a " - " header split by the layout reader)
        return cut.rstrip(" /") or texts[0]
    if "-" in cut and any(t[len(prefix) :].strip() for t in texts):
        cut = cut[: cut.rfind("-")] if not cut.endswith("-") else cut[:-1]
    return cut.strip(" -") or texts[0]


def _subs(g: Group, layout: Layout) -> list[str]:
    if layout not in QUALTRICS:
        return [c.header.sub for c in g.columns]
    texts = [c.header.display for c in g.columns]
    out = []
    for c, t in zip(g.columns, texts, strict=True):
        rest = t[len(g.text) :].strip(" -/") if t.startswith(g.text) else ""
        m = QUALTRICS_ID.match(c.header.key or "")
        suffix = (m.group("sub") or "").lstrip("_") if m else ""
        out.append(rest or suffix or c.header.key)
    return out
