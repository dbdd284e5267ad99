"""Map an export's columns to the questionnaire spec and its cells to option codes.

Identifying columns (IP, email, names, custom data) are recognised from the header alone and
never read into a frame; name cells are collected only into an in-memory redaction deny-list.
Every unknown, missing, duplicated or reworded column, and every value outside a question's
options, is reported at once with the closest spec entry.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.core.errors import POLARS_UNSAFE, InputError, Problems
from pipeline.core.reader.grid import Grid
from pipeline.core.reader.layout import Header, Layout
from pipeline.core.text import norm
from pipeline.survey.questionnaire import SM_OTHER, SM_RESPONSE, ColumnSpec, Option, Questionnaire

IDENTIFYING = re.compile(
    r"^(ip ?address|ipaddress|e-?mail( address)?|recipient ?(e-?mail|first ?name|last ?name)|"
    r"first ?name|last ?name|full ?name|name|custom ?data ?\d*|location ?(latitude|longitude)|"
    r"emailaddress|externaldatareference|external ?(data ?)?reference|recipient(e-?mail|firstname|lastname))$"
)
NAME_HEADERS = re.compile(r"(first|last|full)? ?name$")
META = ("respondent_id", "collector_id", "started", "ended", "response_type")
# Qualtrics' standard columns that say how a response was collected, not what was answered:
# recognised (by the id row or the text row) and left out of the analysis, with a note.
PLATFORM_COLUMNS = {
    norm(h)
    for h in (
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "RecordedDate",
        "Recorded Date",
        "DistributionChannel",
        "Distribution Channel",
        "UserLanguage",
        "User Language",
        "Q_RecaptchaScore",
        "Q_RelevantIDDuplicate",
        "Q_RelevantIDDuplicateScore",
        "Q_RelevantIDFraudScore",
        "Q_RelevantIDLastStartDate",
    )
}
TRUTHY = {"1", "true", "yes", "y", "x", "checked", "selected"}
PY_WHITESPACE = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace()
)  # what str.strip() strips


@dataclass(frozen=True)
class Mapping:
    """Which grid column feeds which mapped column, and what was dropped."""

    spec_columns: dict[str, int]  # mapped column -> 0-based grid column
    meta: dict[str, int]  # respondent_id / collector_id / started / ended -> grid column
    dropped: list[str]  # identifying headers dropped at ingest
    name_columns: list[int]  # grid columns whose cells seed the redaction deny-list
    platform: list[str] = field(default_factory=list)  # collection metadata left out (Progress...)
    absent_options: list[ColumnSpec] = field(default_factory=list)  # optional, not in this wave
    packed: dict[str, int] = field(default_factory=dict)  # multi instance -> its one list column


def _expected_keys(spec: Questionnaire, layout: Layout) -> dict[tuple[str, str], str]:
    """Every header form a spec column may take in this layout -> mapped column name."""
    keys: dict[tuple[str, str], str] = {}
    by_name = {c.name: c for c in spec.columns}
    for _, sub, name in spec.surveymonkey_headers():
        col = by_name[name]
        for wording in (col.instance.text, *col.instance.aliases):
            text = norm(wording)
            if layout == "surveymonkey":
                keys.setdefault((text, norm(sub)), name)
            else:
                plain_sub = "" if sub in (SM_RESPONSE, "Open-Ended Response") else sub
                keys.setdefault((text, norm(plain_sub)), name)
                for form in _qualtrics_forms(wording, col):
                    keys.setdefault((norm(form), ""), name)
        keys[(norm(name), "")] = name  # a plain export may use the mapped names themselves
    return keys


def _qualtrics_forms(wording: str, col: ColumnSpec) -> list[str]:
    """Whole-header forms Qualtrics writes: "Q - Selected Choice" for a choice question's value,
    "Q - <option label> - Text" for its specify box (matched whole, so a " - " inside the
    question or label is harmless)."""
    if col.kind == "value" and col.instance.options:
        return [f"{wording} - Selected Choice"]
    if col.kind == "other_text":
        labels = [o.label for o in col.instance.options if o.other_text] or [SM_OTHER, "Other"]
        return [f"{wording} - {label} - Text" for label in labels] + [f"{wording} - Text"]
    if col.kind == "option":
        return [f"{wording} - Selected Choice - {col.option.label}"]  # type: ignore[union-attr]
    return []


def _packed_keys(spec: Questionnaire) -> dict[str, str]:
    """Qualtrics writes a multiple-answer question as one column of comma-separated choices
    ("Q - Selected Choice", or the bare question): whole header -> multi instance id."""
    out: dict[str, str] = {}
    for inst in spec.instances:
        if inst.question.type == "multi":
            for w in (inst.text, *inst.aliases):
                out.setdefault(norm(f"{w} - Selected Choice"), inst.id)
                out.setdefault(norm(w), inst.id)
    return out


def _meta_keys(spec: Questionnaire) -> dict[str, str]:
    e = spec.model.export
    pairs = {
        "respondent_id": e.respondent_id,
        "collector_id": e.collector_id,
        "started": e.started,
        "ended": e.ended,
    }
    out = {norm(v): k for k, v in pairs.items() if v}
    out.update(
        {
            "respondentid": "respondent_id",
            "responseid": "respondent_id",
            "_respondent": "respondent_id",
            "response id": "respondent_id",
            "collectorid": "collector_id",
            "startdate": "started",
            "start date": "started",
            "enddate": "ended",
            "end date": "ended",
            "status": "response_type",
            "response type": "response_type",
        }
    )
    return out


def map_columns(grid: Grid, headers: list[Header], layout: Layout, spec: Questionnaire) -> Mapping:
    if spec.model.export.columns:  # a drafted spec names each column's export header
        from pipeline.survey.ingest.declared import map_declared

        return map_declared(grid, headers, layout, spec)
    expected = _expected_keys(spec, layout)
    meta_keys = _meta_keys(spec)
    identifying = {norm(h) for h in spec.model.export.identifying}
    names = {norm(h) for h in spec.model.export.name_columns}
    problems = Problems()
    found: dict[str, int] = {}
    meta: dict[str, int] = {}
    dropped: list[str] = []
    name_cols: list[int] = []
    platform: list[str] = []
    packed: dict[str, int] = {}
    packed_keys = _packed_keys(spec) if layout != "surveymonkey" else {}
    unknown: list[Header] = []
    for h in headers:
        k = (norm(h.question), norm(h.sub))
        whole = norm(h.question if not h.sub else f"{h.question} - {h.sub}")
        q_only = norm(h.question)
        ident = norm(h.key)
        by_key = bool(ident) and (ident in identifying | names or bool(IDENTIFYING.match(ident)))
        by_text = not h.sub and (q_only in identifying | names or bool(IDENTIFYING.match(q_only)))
        if (by_key or by_text) and k not in expected:
            dropped.append(h.question)
            if q_only in names or NAME_HEADERS.search(q_only) or NAME_HEADERS.search(ident):
                name_cols.append(h.column - 1)
            continue
        meta_key = meta_keys.get(q_only) if not h.sub else None
        meta_key = meta_key or meta_keys.get(ident)
        if (ident in PLATFORM_COLUMNS or norm(h.display) in PLATFORM_COLUMNS) and k not in expected:
            platform.append(h.display)
            continue
        if meta_key:
            meta.setdefault(meta_key, h.column - 1)
            continue
        name = expected.get(k) or expected.get((whole, ""))
        packed_inst = packed_keys.get(whole) if name is None else None
        if packed_inst is not None and packed_inst not in packed:
            packed[packed_inst] = h.column - 1
        elif name is None:
            unknown.append(h)
        elif name in found:
            problems.add(
                f"duplicate question column: same header as column {found[name] + 1} ('{_short(h.display)}')",
                column=h.column,
                fix="remove the repeated column (an export edited by hand?)",
            )
        else:
            found[name] = h.column - 1
    if not found and spec.columns:
        raise InputError(
            f"none of the export's {len(headers)} columns match a question of survey '{spec.survey}' "
            f"({len(dropped)} identifying and {len(meta)} metadata columns recognised)",
            file=grid.path,
            fix="check you chose the right survey spec (--survey), or write a spec for this export "
            "(see docs/questionnaire.md)",
        )
    _report_unknown(unknown, spec, expected, problems)
    for inst_id in packed:  # one "Selected Choice" column stands for all the option columns
        for c in spec.columns_of(inst_id):
            if c.kind == "option" and c.name in found:
                problems.add(
                    f"question '{inst_id}' has both a one-column answer list and option columns",
                    column=packed[inst_id] + 1,
                    fix="export either 'Selected Choice' lists or split columns, not both",
                )
    covered = {c.name for i in packed for c in spec.columns_of(i) if c.kind == "option"}
    absent = _report_missing(spec, {**found, **dict.fromkeys(covered, -1)}, problems)
    problems.raise_if_any(
        InputError, "the export's columns do not match the questionnaire spec", file=grid.path
    )
    return Mapping(found, meta, dropped, name_cols, platform, absent, packed)


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Nearest:
    """The nearest spec column to each unmatched header, in time linear in the number of headers.

    Why: difflib against every spec column cost 0.2 s per unknown header (2,000 columns took
    minutes). An inverted index of normalised word tokens gives each header the few spec columns
    sharing its rarest words; difflib ranks only those few.
    """

    CANDIDATES = 5

    def __init__(self, spec: Questionnaire, expected: dict[tuple[str, str], str]) -> None:
        self.spec = spec
        self.by_name = {c.name: c for c in spec.columns}
        choices = {f"{q} / {s}" if s else q: name for (q, s), name in expected.items()}
        self.choices, self.names = list(choices), list(choices.values())
        self.index: dict[str, list[int]] = {}
        for i, c in enumerate(self.choices):
            for t in set(_tokens(c)):
                self.index.setdefault(t, []).append(i)

    def __call__(self, display: str) -> str:
        text = norm(display)
        # rare words decide: a token in a quarter or more of the spec columns is left out
        common = max(len(self.choices) // 4, 1)
        weights: dict[int, float] = {}
        for t in set(_tokens(text)):
            hits = self.index.get(t, ())
            if 0 < len(hits) <= common:
                for i in hits:
                    weights[i] = weights.get(i, 0.0) + 1.0 / len(hits)
        if not weights:
            return "no similar spec question"
        top = sorted(weights, key=lambda i: (-weights[i], i))[: self.CANDIDATES]
        best = max(top, key=lambda i: difflib.SequenceMatcher(None, text, self.choices[i]).ratio())
        col = self.by_name[self.names[best]]
        what = f"option '{col.option.label}' of " if col.option else ""
        spec_text = col.instance.text
        header_q = display.split(" / ", 1)[0]
        # the words that changed, never cut: a rewording differs in exactly what a cut would hide
        return (
            f"{what}question '{col.instance.id}' (\"{_short(spec_text, 60)}\"; "
            f"{changed_words(norm(spec_text), norm(header_q))})"
        )


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _report_unknown(
    unknown: list[Header], spec: Questionnaire, expected: dict, problems: Problems
) -> None:
    wordings = {norm(w): inst for inst in spec.instances for w in (inst.text, *inst.aliases)}
    nearest = Nearest(spec, expected) if unknown else None
    for h in unknown:
        inst = wordings.get(norm(h.question))
        if inst is not None and h.sub and inst.question.type == "multi":
            problems.add(
                f"column '{h.display}' is an option that question '{inst.qid}' does not list",
                column=h.column,
                fix=f"add it to the options of question '{inst.qid}' in {spec.path.name}, e.g. "
                f'{{code: new_code, label: "{h.sub}", optional: true}} '
                "(optional: true keeps older waves without it running)",
            )
            continue
        problems.add(
            f"column '{h.display}' is not in the spec; closest: {nearest(h.display)}",  # type: ignore[misc]
            column=h.column,
            fix="if the question was reworded, add the new wording to that question's aliases in "
            f"{spec.path.name} (older wordings keep working); if it is new, add the question",
        )


def changed_words(old: str, new: str) -> str:
    """The words that differ between two wordings, e.g. "'work in' became 'mainly work in'"."""
    a, b = old.split(), new.split()
    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "replace":
            parts.append(f"'{' '.join(a[i1:i2])}' became '{' '.join(b[j1:j2])}'")
        elif op == "delete":
            parts.append(f"'{' '.join(a[i1:i2])}' removed")
        elif op == "insert":
            parts.append(f"'{' '.join(b[j1:j2])}' added")
    return "; ".join(parts[:3]) or "only case, quotes or spacing differ"


def _report_missing(
    spec: Questionnaire, found: dict[str, int], problems: Problems
) -> list[ColumnSpec]:
    """Report every spec column the export lacks; return the optional (later-wave) options
    that are simply absent, which are filled as not selected."""
    missing = [c for c in spec.columns if c.name not in found]
    absent = [c for c in missing if c.option is not None and c.option.optional]
    missing = [c for c in missing if c not in absent]
    by_instance: dict[str, list[ColumnSpec]] = {}
    for c in missing:
        by_instance.setdefault(c.instance.id, []).append(c)
    for inst_id, cols in by_instance.items():
        labels = ", ".join(f"'{c.option.label}'" if c.option else c.kind for c in cols[:4])
        more = f" and {len(cols) - 4} more" if len(cols) > 4 else ""
        problems.add(
            f"spec question '{inst_id}' (\"{_short(cols[0].instance.text, 60)}\") has no column for {labels}{more}",
            fix="check the export includes every question (all pages, all collectors) or correct the spec",
        )
    return absent


def to_frame(
    grid: Grid, header_rows: int, mapping: Mapping, spec: Questionnaire
) -> tuple[pl.DataFrame, list[str]]:
    """Cells -> typed, coded columns (option labels become codes; unknown values are errors),
    and the deny-list of names typed into the export's own name columns (for redacting quotes;
    kept in memory only). A large file is converted one chunk of rows at a time, one parse per
    chunk, so only that chunk's strings are in memory."""
    bad = BadValues()
    frames, names = [], set()
    for g, start in grid.chunks(header_rows):
        frames.append(_chunk_frame(g, start, mapping, spec, bad))
        names |= _names(g, start, mapping)
    bad.raise_if_any(grid.path)
    frame = frames[0] if len(frames) == 1 else _stack(frames)
    return _null_unanswered_multis(frame, spec), sorted(names)


def _stack(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The chunks' frames as one contiguous frame, column by column, each column's pieces
    dropped once joined: ``pl.concat(frames, rechunk=True)`` held every chunk and the joined copy
    at once (about 0.9 GB extra at 1M rows). Contiguous, because later stages would otherwise
    rechunk the wide frame themselves (a horizontal expression over many chunks copies it)."""
    names = frames[0].columns
    return pl.DataFrame(
        [pl.concat([f.drop_in_place(name) for f in frames], rechunk=True) for name in names]
    )


def _chunk_frame(
    grid: Grid, start: int, mapping: Mapping, spec: Questionnaire, bad: BadValues
) -> pl.DataFrame:
    cols: dict[str, pl.Series] = {"_row": grid.row_numbers(start).alias("_row")}
    for key, j in mapping.meta.items():
        s = grid.column(j, start).str.replace_all(POLARS_UNSAFE, "").str.strip_chars(PY_WHITESPACE)
        cols[f"_{key}"] = s.set(s == "", None).alias(f"_{key}")
    absent = {c.name for c in mapping.absent_options}
    for inst_id, j in mapping.packed.items():
        cols.update(_unpack(grid.column(j, start, fill=False), spec, inst_id, grid, start, j, bad))
    for col in spec.columns:
        if col.name in cols:
            continue
        if col.name in absent:  # a later wave's option, not offered in this export
            cols[col.name] = pl.repeat(
                False, cols["_row"].len(), dtype=pl.Boolean, eager=True
            ).alias(col.name)
            continue
        j = mapping.spec_columns[col.name]
        cols[col.name] = _convert(grid.column(j, start, fill=False), col, grid, start, j, bad)
    return pl.DataFrame(cols)


@dataclass
class _BadColumn:
    col: ColumnSpec
    j: int
    labels: list[str]
    shown: list[tuple[int, str]] = field(default_factory=list)  # (row, value), the first few
    total: int = 0


class BadValues:
    """Unknown option values over every chunk: the first few per column with their rows, and a
    count of the rest, reported together once the whole file has been read."""

    SHOWN = 5

    def __init__(self) -> None:
        self.cols: dict[str, _BadColumn] = {}

    def add(
        self,
        col: ColumnSpec,
        j: int,
        labels: list[str],
        rows: list[int],
        values: list[str],
        total: int,
    ) -> None:
        entry = self.cols.setdefault(col.name, _BadColumn(col, j, labels))
        room = self.SHOWN - len(entry.shown)
        entry.shown.extend(zip(rows[:room], values[:room], strict=True))
        entry.total += total

    def raise_if_any(self, path: Path) -> None:
        problems = Problems()
        for e in self.cols.values():
            for row, value in e.shown:
                closest = difflib.get_close_matches(value, e.labels, n=1, cutoff=0.0)
                numeric = value.replace(",", "").strip().isdigit()
                if numeric and not any(o.recode is not None for o in e.col.instance.options):
                    problems.add(
                        f"'{value}' is a numeric answer code, but question '{e.col.instance.id}' "
                        "declares no recode values",
                        row=row,
                        column=e.j + 1,
                        fix="export from Qualtrics with 'Use choice text', or add each option's "
                        f"Qualtrics recode value (recode: 1, ...) to question '{e.col.instance.qid}'",
                    )
                    continue
                problems.add(
                    f"'{value}' is not an option of question '{e.col.instance.id}'"
                    + (f"; closest option: '{closest[0]}'" if closest else ""),
                    row=row,
                    column=e.j + 1,
                    fix="if it is a new answer option, add it to the options of question "
                    f"'{e.col.instance.qid}' in the questionnaire spec; "
                    "if it is another wording of an option, add it to that option's aliases",
                )
            if e.total > len(e.shown):
                problems.add(
                    f"... and {e.total - len(e.shown)} more unknown value(s) in question "
                    f"'{e.col.instance.id}'",
                    column=e.j + 1,
                )
        problems.raise_if_any(InputError, "values outside the questionnaire's options", file=path)


def _distinct(s: pl.Series) -> tuple[list[str], dict[str, str]]:
    """Distinct raw values that are blank once stripped, and ``norm`` of every other one: a few
    hundred Python calls however many rows there are, and no per-cell stripping."""
    blank, normed = [], {}
    for v in s.unique().drop_nulls().to_list():
        if v.strip():
            normed[v] = norm(v)
        else:
            blank.append(v)
    return blank, normed


def _convert(
    s: pl.Series, col: ColumnSpec, grid: Grid, header_rows: int, j: int, problems: BadValues
) -> pl.Series:
    """One column of raw cells (null for an empty cell) to its typed, coded column. Rows are
    searched for unknown values only when some distinct value is unknown: two passes fewer over
    every option column of every chunk."""
    coded_kind = col.kind == "option" or (col.kind == "value" and col.instance.options)
    if not coded_kind:  # free text: NUL, control and bidi-override characters removed
        s = s.str.replace_all(POLARS_UNSAFE, "").str.strip_chars()
        return s.set(s.is_null() | (s == ""), None).alias(col.name)
    blank_values, normed = _distinct(s)
    blank = s.is_null() | s.is_in(blank_values) if blank_values else s.is_null()
    if col.kind == "option":
        label = norm(col.option.label)  # type: ignore[union-attr]
        accepted = {label, *(norm(a) for a in col.option.aliases)} | TRUTHY  # type: ignore[union-attr]
        allowed = [v for v, n in normed.items() if n in accepted]
        if len(allowed) < len(normed):  # some distinct value is not the option: find its rows
            ok = blank | s.is_in(allowed)
            _bad_values(s, ok, col, grid, header_rows, j, problems, [col.option.label])  # type: ignore[union-attr]
        return (~blank).alias(col.name)
    lookup = _choice_lookup(col.instance.options)
    codes = {v: lookup[n] for v, n in normed.items() if n in lookup}
    if len(codes) < len(normed):  # some distinct value is not an option: find its rows
        ok = blank | s.is_in(list(codes))
        labels = [o.label for o in col.instance.options]
        _bad_values(s, ok, col, grid, header_rows, j, problems, labels)
    return s.replace_strict(codes, default=None, return_dtype=pl.String).alias(col.name)


def _choice_lookup(options: tuple[Option, ...]) -> dict[str, str]:
    """Every accepted spelling of an option -> its code: label, aliases, code, and the
    declared Qualtrics recode value (for exports made with "Use numeric values")."""
    lookup: dict[str, str] = {}
    for o in options:
        lookup[norm(o.label)] = o.code
        lookup.update({norm(a): o.code for a in o.aliases})
        lookup.setdefault(norm(o.code), o.code)
    for o in options:
        if o.recode is not None:
            lookup.setdefault(str(o.recode), o.code)
    return lookup


def _split_choices(value: str, lookup: dict[str, str]) -> list[str] | None:
    """A comma-separated answer list as option codes, labels that contain commas included
    (longest label first); None when some part is not an option."""
    text, codes = norm(value), []
    keys = sorted(lookup, key=len, reverse=True)
    while text:
        hit = next((k for k in keys if text == k or text.startswith(k + ",")), None)
        if hit is None:
            return None
        codes.append(lookup[hit])
        text = text[len(hit) + 1 :].strip()
    return codes


def _unpack(
    s: pl.Series, spec: Questionnaire, inst_id: str, grid: Grid, start: int, j: int, bad: BadValues
) -> dict[str, pl.Series]:
    """One "Selected Choice" list column -> the instance's boolean option columns."""
    inst = spec.instance(inst_id)
    option_cols = spec.option_columns(inst_id)
    lookup = _choice_lookup(inst.options)
    blank_values, normed = _distinct(s)
    split = {v: _split_choices(v, lookup) for v in normed}
    ok_values = [v for v, codes in split.items() if codes is not None]
    blank = s.is_null() | s.is_in(blank_values) if blank_values else s.is_null()
    col = spec.columns_of(inst_id)[0]
    labels = [o.label for o in inst.options]
    if len(ok_values) < len(normed):  # some distinct list is not made of options
        _bad_values(s, blank | s.is_in(ok_values), col, grid, start, j, bad, labels)
    out = {}
    for code, name in option_cols.items():
        chosen = [v for v in ok_values if code in (split[v] or [])]
        out[name] = s.is_in(chosen).fill_null(False).alias(name)
    return out


def _bad_values(
    s: pl.Series,
    ok: pl.Series,
    col: ColumnSpec,
    grid: Grid,
    header_rows: int,
    j: int,
    problems: BadValues,
    labels: list[str],
) -> None:
    bad_idx = (~ok).arg_true().to_list()
    if bad_idx:
        shown = bad_idx[: BadValues.SHOWN]
        problems.add(
            col,
            j,
            labels,
            [grid.number(header_rows + i) for i in shown],
            [_short(str(s[i]).strip(), 40) for i in shown],
            len(bad_idx),
        )


def _null_unanswered_multis(frame: pl.DataFrame, spec: Questionnaire) -> pl.DataFrame:
    """A multi-choice question with no box ticked was not answered: its option columns become null."""
    exprs = []
    for inst in spec.instances:
        if inst.question.type != "multi":
            continue
        opts = list(spec.option_columns(inst.id).values())
        other = f"{inst.id}__other_text"
        answered = pl.any_horizontal(opts)
        if other in frame.columns:
            answered = answered | pl.col(other).is_not_null()
        exprs += [pl.when(answered).then(pl.col(c)).otherwise(None).alias(c) for c in opts]
    return frame.with_columns(exprs) if exprs else frame


def _names(grid: Grid, start: int, mapping: Mapping) -> set[str]:
    found: set[str] = set()
    for j in mapping.name_columns:
        cells = grid.column(j, start).str.strip_chars(PY_WHITESPACE).unique().to_list()
        found.update(c for c in cells if c)
    return found
