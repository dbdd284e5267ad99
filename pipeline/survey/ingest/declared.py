"""Map an export's columns by the header keys a spec declares (``export.columns``).

A spec drafted by ``joinedup survey init`` records, for every mapped column, the exact header it
came from. Matching on that key rather than on question text copes with what real exports do:
the same question text on several questions (Qualtrics), duplicate headers (a flattened
SurveyMonkey file with two "Other (please specify)" columns), and matrix rows whose question text
is only in row 1. Identifying columns are still recognised and dropped before any cell is read.
"""

from __future__ import annotations

from collections import Counter

from pipeline.core.errors import InputError, Problems
from pipeline.core.reader.grid import Grid
from pipeline.core.reader.layout import Header, Layout
from pipeline.core.text import norm
from pipeline.survey.ingest.mapping import IDENTIFYING, NAME_HEADERS, Mapping
from pipeline.survey.questionnaire import Questionnaire

QUALTRICS = ("qualtrics", "qualtrics_legacy")


def header_keys(headers: list[Header], layout: Layout) -> list[str]:
    """One key per column: Qualtrics' id row, else 'question / sub-label'; a blank header is
    '(column N)'; the second and later copies of a repeated key get ' #2', ' #3'."""
    seen: Counter[str] = Counter()
    out = []
    for h in headers:
        qualtrics_id = layout in QUALTRICS and h.key
        key = h.key if qualtrics_id else (h.display or f"(column {h.column})")
        seen[key] += 1
        out.append(key if seen[key] == 1 else f"{key} #{seen[key]}")
    return out


def is_identifying(h: Header) -> bool:
    """IP, email, names, custom data, location: recognised from the header alone."""
    ident = norm(h.key)
    q_only = norm(h.question) if not h.sub else ""
    return any(bool(v) and bool(IDENTIFYING.match(v)) for v in (ident, q_only))


def is_name_column(h: Header) -> bool:
    return bool(NAME_HEADERS.search(norm(h.question)) or NAME_HEADERS.search(norm(h.key)))


def map_declared(grid: Grid, headers: list[Header], layout: Layout, spec: Questionnaire) -> Mapping:
    """Columns by declared header key; every undeclared or missing column is one problem."""
    e = spec.model.export
    wanted = {key: name for name, key in e.columns.items()}
    meta_of = {
        k: m
        for m, k in (
            ("respondent_id", e.respondent_id),
            ("collector_id", e.collector_id),
            ("started", e.started),
            ("ended", e.ended),
        )
        if k
    }
    identifying = {norm(k) for k in (*e.identifying, *e.name_columns)}
    ignored = set(e.ignored)
    problems = Problems()
    found: dict[str, int] = {}
    meta: dict[str, int] = {}
    dropped: list[str] = []
    name_cols: list[int] = []
    for h, key in zip(headers, header_keys(headers, layout), strict=True):
        if key in wanted:
            found[wanted[key]] = h.column - 1
        elif key in meta_of:
            meta[meta_of[key]] = h.column - 1
        elif norm(key) in identifying or is_identifying(h):
            dropped.append(h.question)
            if is_name_column(h):
                name_cols.append(h.column - 1)
        elif key not in ignored:
            problems.add(
                f"column '{_short(key)}' is not in the spec's export.columns (new in this export?)",
                column=h.column,
                fix=f"run `joinedup survey init {grid.path.name} --survey {spec.survey}` to list "
                "what differs, then add the column to the spec (or to export.ignored)",
            )
    have = set(found)
    for name, key in e.columns.items():
        if name not in have:
            problems.add(
                f"spec column '{name}' (header '{_short(key)}') is not in the export",
                fix="check the export includes every question, or remove the column from the spec",
            )
    problems.raise_if_any(
        InputError, "the export's columns do not match the spec's declared columns", file=grid.path
    )
    missing = [c.name for c in spec.columns if c.name not in found]
    if missing:
        raise InputError(
            f"spec questions have no entry in export.columns: {', '.join(missing[:5])}",
            file=spec.path,
            fix="add each mapped column and its export header to export.columns",
        )
    return Mapping(found, meta, dropped, name_cols)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
