"""Read a month's JOQ export (SurveyMonkey, Qualtrics, plain CSV or XLSX) into the store.

Why: exports are re-downloaded and re-sent; the same file must change nothing, a changed file must
be shown (ids added, removed, changed) and refused unless replacing, and human decisions must
survive any import. Files are read by the one export reader (``pipeline.core.reader``: same
encoding policy, shape checks and messages as survey ingest). Each column role (answer, id,
submitted, sectors, role, region, consent) is found by its header; when more than one header could
fill a role the import stops and asks (``--answer-column`` ... or a saved mapping file), and a
consent question ("happy for us to quote your answer?") is never taken as the answer.
Non-answers are kept and flagged so bases are honest about them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict

from pipeline.core import config
from pipeline.core.errors import InputError, Problems, SpecError
from pipeline.core.hashing import file_sha256
from pipeline.core.paths import REFERENCE_DATA
from pipeline.core.reader.grid import Grid, read_grid
from pipeline.core.reader.layout import Header, detect_layout, headers
from pipeline.core.timeutil import generation_stamp
from pipeline.joq import nonanswers as _nonanswers
from pipeline.joq import store
from pipeline.joq.frames import Sector

ROLES = ("consent", "id", "answer", "submitted", "sectors", "role", "region", "synthetic")
REQUIRED = ("id", "submitted", "answer")  # plus "sectors" when the frame lists sectors
OPTION = {r: f"--{r}-column" for r in ROLES}
# Every accepted header spelling, in one place. Headers are compared lower-cased with runs of
# non-alphanumerics collapsed to one space; an exact match wins over a contained one.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": (
        "response id",
        "respondent id",
        "responseid",
        "response no",
        "response number",
        "id",
        "response",
    ),
    "submitted": (
        "submitted date",
        "submitted",
        "date submitted",
        "submitted at",
        "end date",
        "enddate",
        "recorded date",
        "recordeddate",
        "date",
        "timestamp",
        "completed",
    ),
    "sectors": ("sectors", "sector", "sector s", "sectors selected", "which sectors"),
    "answer": (
        "answer text",
        "answer",
        "text",
        "your answer",
        "one change",
        "open text",
        "free text",
        "comment",
        "response text",
    ),
    "role": ("role", "job role", "your role"),
    "region": ("region", "location", "area"),
    "consent": ("consent", "quote consent", "consent to quote"),
    "synthetic": ("synthetic",),
}
CONSENT = re.compile(
    r"\b(consent|consents|quote|quoted|quoting|quotes|permission|happy for us|ok to use|okay to use)\b"
)
CONSENT_YES = ("yes", "y", "true", "1", "agree", "i agree", "ok", "okay")
CONSENT_NO = ("no", "n", "false", "0", "disagree", "i do not agree")
# Normalised forms of answers that say nothing; per question see pipeline/joq/nonanswers.py.
NONANSWERS: tuple[str, ...] = _nonanswers.DEFAULT
ALL_OF_THE_ABOVE = "all"


def _norm_header(h: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", h.lower()).split())


class MappingFile(BaseModel):
    """A saved choice of columns for one survey's exports (``--mapping``): role -> header text,
    a 1-based column number, or ``none`` (the export has no such column)."""

    model_config = ConfigDict(extra="forbid")
    columns: dict[str, str]


def load_mapping(path: Path) -> dict[str, str]:
    """A saved mapping file, validated by the one config loader (file, line and field in errors)."""
    m = config.load(
        MappingFile, path, "column mapping", fix="write columns: {answer: HEADER, id: HEADER, ...}"
    )
    bad = sorted(set(m.columns) - set(ROLES))
    if bad:
        raise SpecError(
            f"unknown role(s) {', '.join(bad)}", file=path, fix=f"roles are: {', '.join(ROLES)}"
        )
    return dict(m.columns)


def mapping_yaml(chosen: Mapping[str, str]) -> str:
    """A mapping file recording the columns an import used (``--save-mapping``)."""
    return "# JOQ export columns, by role (see docs/joq.md)\n" + yaml.safe_dump(
        {"columns": dict(chosen)}, sort_keys=False, allow_unicode=True
    )


def _names(h: Header) -> set[str]:
    return {n for n in (_norm_header(h.question), _norm_header(h.key)) if n}


def is_consent(h: Header) -> bool:
    return bool(CONSENT.search(_norm_header(h.question)))


def _listing(cols: Sequence[Header]) -> str:
    return ", ".join(f"'{h.display[:60]}' (column {h.column})" for h in cols)


def _explicit(role: str, value: str, hs: Sequence[Header], file: Path) -> list[Header]:
    v = value.strip()
    if v.isdigit():
        hit = [h for h in hs if h.column == int(v)]
    else:
        want = _norm_header(v)
        hit = [h for h in hs if _norm_header(h.display) == want] or [
            h for h in hs if want in _names(h)
        ]
    if not hit:
        close = difflib.get_close_matches(v, [h.display for h in hs], n=1, cutoff=0.3)
        raise InputError(
            f"{OPTION[role]} '{v[:60]}' matches no column"
            + (f"; closest header is '{close[0]}'" if close else ""),
            file=file,
            fix="give the header as the export shows it, or its column number",
        )
    return hit


def _auto(role: str, hs: Sequence[Header], question: str) -> list[Header]:
    """Columns the role's aliases (or, for the answer, the frame's question) point to."""
    aliases = COLUMN_ALIASES[role]
    exact = [h for h in hs if _names(h) & set(aliases)]
    if exact or role == "synthetic":
        return exact
    hit = [
        h
        for h in hs
        if any(
            len(a) > 3 and re.search(rf"\b{re.escape(a)}\b", n) for a in aliases for n in _names(h)
        )
    ]
    if role == "answer":
        q = _norm_header(question)
        if q and not hit:
            hit = [h for h in hs if q and (q == _norm_header(h.question))]
        if not hit:  # SurveyMonkey: the one open-ended column left is the answer
            hit = [h for h in hs if _norm_header(h.sub) == "open ended response"]
    return hit


def map_roles(
    hs: Sequence[Header],
    file: Path,
    required: Sequence[str] = REQUIRED,
    chosen: Mapping[str, str] | None = None,
    question: str = "",
) -> dict[str, list[Header]]:
    """Each role's column(s): explicit choices first, then headers. Refuses (InputError) a role
    two columns could fill, a duplicate header, a consent question as the answer, a missing role."""
    chosen = dict(chosen or {})
    taken: set[int] = set()
    found: dict[str, list[Header]] = {}
    probs = Problems()
    consent_cols = [h for h in hs if is_consent(h)]
    for role in ROLES:
        if role in chosen:
            if chosen[role].strip().lower() == "none":
                continue
            cols = _explicit(role, chosen[role], hs, file)
            if role == "answer" and any(is_consent(h) for h in cols):
                raise InputError(
                    f"{OPTION[role]} names a consent question ({_listing(cols)}), not the answer",
                    file=file,
                    fix="give the open-text question's header; pass the consent question as "
                    "--consent-column",
                )
        else:
            pool = [h for h in hs if h.column not in taken]
            if role == "consent":
                cols = [h for h in pool if is_consent(h) or _names(h) & set(COLUMN_ALIASES[role])]
            else:
                pool = [h for h in pool if h not in consent_cols]
                cols = _auto(role, pool, question)
        cols = [h for h in cols if h.column not in taken] if role not in chosen else cols
        if not cols:
            continue
        groups = {h.question for h in cols}
        multi_ok = role == "sectors" and len(groups) == 1
        if len(cols) > 1 and not multi_ok:
            same = len({_norm_header(h.display) for h in cols}) == 1
            probs.add(
                (
                    f"{len(cols)} columns are headed '{cols[0].display[:60]}'"
                    if same
                    else f"{len(cols)} columns could be the {role}: {_listing(cols)}"
                ),
                file=str(file),
                column=cols[0].display[:60],
                fix=(
                    "delete or rename the extra column, or choose one by number, e.g. "
                    f"{OPTION[role]} {cols[0].column}"
                    if same
                    else f'choose one: {OPTION[role]} "{cols[0].display[:60]}" (or save the '
                    "choice in a mapping file, --mapping)"
                ),
            )
            continue
        found[role] = cols
        taken.update(h.column for h in cols)
    for role in required:
        if role not in found and not (role in chosen and chosen[role].lower() == "none"):
            close = difflib.get_close_matches(
                COLUMN_ALIASES[role][0], [h.display for h in hs], n=1, cutoff=0.3
            )
            hint = f"; closest header is '{close[0]}'" if close else ""
            probs.add(
                f"missing column '{COLUMN_ALIASES[role][0]}' ({role}){hint}",
                file=str(file),
                fix=f"name a column one of: {', '.join(COLUMN_ALIASES[role])}; or choose it with "
                f"{OPTION[role]} HEADER",
            )
    probs.raise_if_any(InputError, "cannot tell which columns to import", file=file)
    return found


def nonanswer_reason(text: str, nonanswers: Iterable[str] = NONANSWERS) -> str | None:
    """Why an answer is excluded from coding bases, or None when it is usable."""
    return _nonanswers.reason(text, nonanswers)


def _slug(label: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return ALL_OF_THE_ABOVE if s.startswith("all_of_the_above") else s.split("_")[0] or s


def match_sector(value: str, sectors: Sequence[Sector]) -> str | None:
    """A sector code for one selected label: exact label or code, or the label's leading words."""
    v = _norm_header(value)
    for s in sectors:
        if v in (_norm_header(s.label), _norm_header(s.code)):
            return s.code
    starts = [
        s.code
        for s in sectors
        if _norm_header(s.label).startswith(v + " ") or v.startswith(_norm_header(s.label) + " ")
    ]
    return starts[0] if len(starts) == 1 else None


def parse_sectors(
    col: list[str], sectors: Sequence[Sector], file: Path, rows: Sequence[int] | None = None
) -> list[list[str]]:
    out: list[list[str]] = []
    probs = Problems()
    labels = [s.label for s in sectors]
    for i, raw in enumerate(col):
        codes: list[str] = []
        for part in (p.strip() for p in re.split(r"[;\n]", raw)):
            if not part:
                continue
            code = match_sector(part, sectors) if sectors else _slug(part)
            if code is None:
                close = difflib.get_close_matches(part, labels, n=1, cutoff=0.2)
                probs.add(
                    f"unknown sector '{part[:60]}'"
                    + (f"; closest is '{close[0]}'" if close else ""),
                    file=str(file),
                    row=rows[i] if rows else i + 2,
                    column="sectors",
                    fix="use the frame's sector labels",
                )
            elif code not in codes:
                codes.append(code)
        out.append(codes)
    probs.raise_if_any(InputError, "unknown sector labels", file=file)
    return out


@dataclass(frozen=True)
class Parsed:
    """One export as one row per response, with how it was read."""

    frame: pl.DataFrame
    synthetic: bool
    layout: str
    encoding: str
    columns: dict[str, str]  # role -> header as shown (several joined with " | ")


def _values(grid: Grid, cols: Sequence[Header], start: int) -> list[str]:
    """The role's cells as text; several columns (a SurveyMonkey multi-choice) joined by ';'."""
    parts = [grid.column(h.column - 1, start).to_list() for h in cols]
    if len(parts) == 1:
        return [v.strip() for v in parts[0]]
    return ["; ".join(v.strip() for v in vs if v.strip()) for vs in zip(*parts, strict=True)]


def parse_consent(values: list[str], rows: list[int], file: Path, column: str) -> list[bool]:
    """Yes-like -> True, no-like -> False; a blank answer to the consent question is no consent."""
    out, probs = [], Problems()
    for v, row in zip(values, rows, strict=True):
        t = _norm_header(v)
        if t in CONSENT_YES or t.startswith("yes "):
            out.append(True)
        elif not t or t in CONSENT_NO or t.startswith("no "):
            out.append(False)
        else:
            out.append(False)
            probs.add(
                f"consent answer '{v[:40]}' is neither yes nor no",
                file=str(file),
                row=row,
                column=column,
                fix="the consent column must hold Yes/No (blank counts as no)",
            )
    probs.raise_if_any(InputError, "unreadable consent answers", file=file)
    return out


def parse_export(
    path: Path,
    month: str,
    sectors: Sequence[Sector] = (),
    nonanswers: Iterable[str] = NONANSWERS,
    chosen: Mapping[str, str] | None = None,
    question: str = "",
) -> Parsed:
    """The export as one row per response, read through the core reader; raises InputError
    naming file, row and column for anything it cannot read exactly."""
    grid = read_grid(Path(path))
    layout, start = detect_layout(grid)
    hs = headers(grid, layout)
    if grid.height <= start:
        raise InputError(
            f"the export has its header row(s) but no answers ({layout} layout, "
            f"{start} header row(s))",
            file=path,
            fix="export the responses again; check the date range and filters in the survey tool",
        )
    roles = map_roles(
        hs, Path(path), (*REQUIRED, "sectors") if sectors else REQUIRED, chosen, question
    )
    rows = grid.row_numbers(start).to_list()
    n = len(rows)

    def col(role: str) -> list[str]:
        return _values(grid, roles[role], start) if role in roles else [""] * n

    def name(role: str) -> str:
        cols = roles[role]
        return (cols[0].display if len(cols) == 1 else cols[0].question)[:80]

    ids = col("id")
    probs = Problems()
    seen: dict[str, int] = {}
    for rid, row in zip(ids, rows, strict=True):
        if not rid:
            probs.add("empty response id", file=str(path), row=row, column=name("id"))
        elif rid in seen:
            probs.add(
                f"response id '{rid[:40]}' repeats row {seen[rid]}",
                file=str(path),
                row=row,
                column=name("id"),
            )
        seen.setdefault(rid, row)
    probs.raise_if_any(InputError, "bad response ids", file=path)
    answer = roles["answer"]  # one column: keep the text exactly as given
    texts = (
        grid.column(answer[0].column - 1, start).to_list()
        if len(answer) == 1
        else _values(grid, answer, start)
    )
    filled = [t.strip().lower() for t in texts if t.strip()]
    if filled and sum(t in ("yes", "no") for t in filled) >= 0.8 * len(filled):
        raise InputError(
            f"the answer column '{name('answer')}' holds Yes/No answers, not open text",
            file=path,
            column=name("answer"),
            fix="choose the open-text question with --answer-column HEADER",
        )
    reasons = [nonanswer_reason(t, nonanswers) for t in texts]
    synthetic = "synthetic" in roles and any(
        v.lower() not in ("", "0", "false", "no", "n") for v in col("synthetic")
    )
    consent = (
        parse_consent(col("consent"), rows, Path(path), name("consent"))
        if "consent" in roles
        else [None] * n
    )
    df = pl.DataFrame(
        {
            "month": [month] * n,
            "response_id": ids,
            "row_number": rows,
            "submitted": col("submitted"),
            "sectors": parse_sectors(col("sectors"), sectors, path, rows),
            "text": texts,
            "role": col("role"),
            "region": col("region"),
            "usable": [r is None for r in reasons],
            "nonanswer": reasons,
            "consent": consent,
        },
        schema_overrides={
            "sectors": pl.List(pl.String),
            "row_number": pl.Int32,
            "nonanswer": pl.String,
            "consent": pl.Boolean,
        },
    )
    columns = {r: name(r) for r in roles}
    return Parsed(df, synthetic, layout, grid.encoding, columns)


def listed_synthetic(sha: str, listing: Path | None = None) -> bool:
    listing = listing or REFERENCE_DATA / "SYNTHETIC.sha256"
    if not listing.is_file():
        return False
    return any(line.split()[:1] == [sha] for line in listing.read_text().splitlines())


@dataclass
class ImportResult:
    month: str
    status: str  # new | unchanged | same-content | replaced
    n_rows: int
    n_usable: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)  # decided answers whose text changed
    orphaned: list[str] = field(default_factory=list)  # decided answers no longer in the export
    columns: dict[str, str] = field(default_factory=dict)
    layout: str = ""
    n_consent: int | None = None  # respondents who agreed to be quoted (None: not asked)
    reflagged: int = 0  # stored answers whose non-answer status a changed list flipped

    def summary(self) -> str:
        base = f"{self.month}: {self.status}, {self.n_rows} answers ({self.n_usable} usable)"
        if self.layout:
            base += f"; {self.layout} layout"
        if self.reflagged:
            base += f"; {self.reflagged} answers re-flagged by the non-answer list (re-run code)"
        if self.added or self.removed or self.changed:
            base += (
                f"; added {len(self.added)}, removed {len(self.removed)}, "
                f"changed {len(self.changed)}"
            )
        lines = [base]
        if self.columns:
            lines.append("columns: " + "; ".join(f"{r} = '{h}'" for r, h in self.columns.items()))
        if self.n_consent is not None:
            lines.append(f"quote consent: {self.n_consent} of {self.n_rows} said yes")
        elif self.columns:
            lines.append("quote consent: no consent column (answers may be quoted)")
        if self.flagged:
            lines.append(
                f"{len(self.flagged)} human decision(s) were made on an answer whose text has "
                f"changed ({_ids(self.flagged)}): kept in history, no longer counted; they are "
                "first in the next review sheet"
            )
        if self.orphaned:
            lines.append(
                f"{len(self.orphaned)} decided answer(s) are no longer in the export "
                f"({_ids(self.orphaned)}): their decisions are kept in history"
            )
        if self.status == "replaced":
            lines.append(
                f"month {self.month} needs re-coding: run `joinedup joq code {self.month}` "
                "(report refuses until then)"
            )
        return "\n".join(lines)


COMPARED = ["submitted", "sectors", "text", "role", "region", "consent"]


def diff_responses(old: pl.DataFrame, new: pl.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """Ids added, removed and changed (any compared field differs) between two imports."""
    o, n = set(old["response_id"]), set(new["response_id"])
    both = old.select(["response_id", *COMPARED]).join(
        new.select(["response_id", *COMPARED]), on="response_id", suffix="_new"
    )
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_new")) for c in COMPARED])
    changed = both.filter(differs)["response_id"].sort().to_list()
    return sorted(n - o), sorted(o - n), changed


def text_changed(old: pl.DataFrame, new: pl.DataFrame) -> list[str]:
    both = old.select("response_id", "text").join(
        new.select("response_id", "text"), on="response_id", suffix="_new"
    )
    return sorted(both.filter(pl.col("text") != pl.col("text_new"))["response_id"].to_list())


def _ids(ids: list[str], k: int = 10) -> str:
    return ", ".join(ids[:k]) + (f" and {len(ids) - k} more" if len(ids) > k else "") or "none"


def import_export(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    month: str,
    sectors: Sequence[Sector] = (),
    replace: bool = False,
    nonanswers: Iterable[str] = NONANSWERS,
    chosen: Mapping[str, str] | None = None,
    question: str = "",
) -> ImportResult:
    """Import one export for a month. Human decisions are never deleted: on ``replace``, those on
    an unchanged answer text keep counting, those whose text changed are flagged (kept in
    history, not counted until a coder decides again), and the month is marked "needs re-coding".
    """
    if not Path(path).is_file():
        raise InputError("file not found", file=path)
    sha = file_sha256(path)
    current = store.current_import(con, month)
    mapping_key = json.dumps(dict(sorted((chosen or {}).items())))
    if current and current["sha256"] == sha and (current.get("mapping") or "{}") == mapping_key:
        old = store.responses(con, month)
        return ImportResult(month, "unchanged", old.height, int(old["usable"].sum()))
    parsed = parse_export(path, month, sectors, nonanswers, chosen, question)
    df = parsed.frame
    synthetic = parsed.synthetic or listed_synthetic(sha)
    n_usable = int(df["usable"].sum())
    status = "new"
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    flagged: list[str] = []
    orphaned: list[str] = []
    if current:
        old = store.responses(con, month)
        added, removed, changed = diff_responses(old, df)
        if added or removed or changed:
            if not replace:
                raise InputError(
                    f"month {month} was imported from a different file; this one adds "
                    f"{len(added)} ({_ids(added)}), removes {len(removed)} ({_ids(removed)}), "
                    f"changes {len(changed)} ({_ids(changed)})",
                    file=path,
                    fix="check it is the right month, then re-run with --replace "
                    "(human decisions are kept)",
                )
            status = "replaced"
            decided = set(store.last_seqs(con, month))
            flagged = [r for r in text_changed(old, df) if r in decided]
            orphaned = [r for r in removed if r in decided]
        else:
            status = "same-content"
    stamp = generation_stamp()
    con.execute("BEGIN")
    try:
        con.execute("UPDATE joq_imports SET current = false WHERE month = ?", [month])
        store.insert(
            con,
            "joq_imports",
            pl.DataFrame(
                {
                    "month": [month],
                    "file": [path.name],
                    "sha256": [sha],
                    "n_rows": [df.height],
                    "synthetic": [synthetic],
                    "imported_at": [stamp],
                    "current": [True],
                    "layout": [parsed.layout],
                    "encoding": [parsed.encoding],
                    "mapping": [mapping_key],
                }
            ),
        )
        if status in ("new", "replaced"):
            con.execute("DELETE FROM joq_responses WHERE month = ?", [month])
            store.insert(con, "joq_responses", df)
        if status == "replaced":
            last = store.last_seqs(con, month)
            store.insert(
                con,
                "joq_stale_decisions",
                pl.DataFrame(
                    {
                        "month": [month] * len(flagged),
                        "response_id": flagged,
                        "upto_seq": [last[r][0] for r in flagged],
                        "reason": ["answer text changed on re-import"] * len(flagged),
                        "flagged_at": [stamp] * len(flagged),
                    },
                    schema={
                        "month": pl.String,
                        "response_id": pl.String,
                        "upto_seq": pl.Int64,
                        "reason": pl.String,
                        "flagged_at": pl.String,
                    },
                ),
            )
            gone = sorted(set(removed) | set(changed))
            con.execute(
                "DELETE FROM joq_machine_codes WHERE month = ? AND list_contains(?, response_id)",
                [month, gone],
            )
            store.mark_needs_recode(
                con,
                month,
                f"the export was replaced by {path.name} (added {len(added)}, removed "
                f"{len(removed)}, changed {len(changed)})",
                stamp,
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    n_consent = int(df["consent"].sum()) if df["consent"].null_count() < df.height else None
    return ImportResult(
        month,
        status,
        df.height,
        n_usable,
        added,
        removed,
        changed,
        flagged,
        orphaned,
        parsed.columns,
        parsed.layout,
        n_consent,
    )
