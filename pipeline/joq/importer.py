"""Read a month's JOQ export (CSV or XLSX) into the store, idempotently.

Why: exports are re-downloaded and re-sent; the same file must change nothing, a changed file must
be shown (ids added, removed, changed) and refused unless replacing, and human decisions must
survive any import. Non-answers are kept and flagged so bases are honest about them.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.errors import InputError, Problems
from pipeline.core.hashing import file_sha256
from pipeline.core.paths import REFERENCE_DATA
from pipeline.core.timeutil import generation_stamp
from pipeline.joq import nonanswers as _nonanswers
from pipeline.joq import store
from pipeline.joq.frames import Sector

# Every accepted header spelling, in one place. Headers are compared lower-cased with runs of
# non-alphanumerics collapsed to one space.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "response_id": ("response id", "respondent id", "response", "responseid", "id", "response no"),
    "submitted": (
        "submitted date",
        "submitted",
        "date submitted",
        "submitted at",
        "date",
        "timestamp",
        "completed",
    ),
    "sectors": ("sectors", "sector", "sector s", "sectors selected", "which sectors"),
    "text": (
        "answer text",
        "answer",
        "text",
        "your answer",
        "one change",
        "open text",
        "free text",
        "comment",
    ),
    "role": ("role", "job role", "your role"),
    "region": ("region", "location", "area"),
    "synthetic": ("synthetic",),
}
REQUIRED = ("response_id", "submitted", "text")  # plus "sectors" when the frame lists sectors
# Normalised forms of answers that say nothing; per question see pipeline/joq/nonanswers.py.
NONANSWERS: tuple[str, ...] = _nonanswers.DEFAULT
ALL_OF_THE_ABOVE = "all"


def _norm_header(h: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", h.lower()).split())


def map_columns(
    headers: Sequence[str], file: Path, required: Sequence[str] = REQUIRED
) -> dict[str, str]:
    """Find each logical column among the headers: exact alias first, then alias contained."""
    norm = {h: _norm_header(h) for h in headers}
    found: dict[str, str] = {}
    for key, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            hit = next((h for h, n in norm.items() if n == alias and h not in found.values()), None)
            if hit:
                found[key] = hit
                break
    for key, aliases in COLUMN_ALIASES.items():
        if key in found or key == "synthetic":
            continue
        for alias in aliases:
            hit = next(
                (
                    h
                    for h, n in norm.items()
                    if h not in found.values()
                    and len(alias) > 3
                    and re.search(rf"\b{re.escape(alias)}\b", n)
                ),
                None,
            )
            if hit:
                found[key] = hit
                break
    probs = Problems()
    for key in required:
        if key not in found:
            close = difflib.get_close_matches(
                COLUMN_ALIASES[key][0], list(headers), n=1, cutoff=0.3
            )
            hint = f"; closest header is '{close[0]}'" if close else ""
            probs.add(
                f"missing column '{COLUMN_ALIASES[key][0]}'{hint}",
                file=str(file),
                fix=f"name a column one of: {', '.join(COLUMN_ALIASES[key])}",
            )
    probs.raise_if_any(InputError, "export is missing required columns", file=file)
    return found


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Headers and string rows of a CSV or XLSX export (first sheet)."""
    if not path.is_file():
        raise InputError("file not found", file=path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as err:  # openpyxl raises many types for a broken file
            raise InputError(f"cannot read as XLSX ({type(err).__name__})", file=path) from err
        rows = [[_cell(v) for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    elif path.suffix.lower() in (".csv", ".txt"):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    else:
        raise InputError("unsupported file type", file=path, fix="export as .csv or .xlsx")
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError("the export is empty", file=path)
    return [h.strip() for h in rows[0]], rows[1:]


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
    col: list[str], sectors: Sequence[Sector], file: Path, first_row: int = 2
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
                    row=first_row + i,
                    column="sectors",
                    fix="use the frame's sector labels",
                )
            elif code not in codes:
                codes.append(code)
        out.append(codes)
    probs.raise_if_any(InputError, "unknown sector labels", file=file)
    return out


def parse_export(
    path: Path, month: str, sectors: Sequence[Sector] = (), nonanswers: Iterable[str] = NONANSWERS
) -> tuple[pl.DataFrame, bool]:
    """The export as one row per response, plus whether it declares itself synthetic."""
    headers, rows = read_table(path)
    cols = map_columns(headers, path, (*REQUIRED, "sectors") if sectors else REQUIRED)
    width = len(headers)
    rows = [r + [""] * (width - len(r)) for r in rows]

    def col(key: str) -> list[str]:
        if key not in cols:
            return [""] * len(rows)
        j = headers.index(cols[key])
        return [r[j].strip() for r in rows]

    ids = col("response_id")
    probs = Problems()
    seen: dict[str, int] = {}
    for i, rid in enumerate(ids):
        if not rid:
            probs.add("empty response id", file=str(path), row=i + 2, column=cols["response_id"])
        elif rid in seen:
            probs.add(
                f"response id '{rid}' repeats row {seen[rid]}",
                file=str(path),
                row=i + 2,
                column=cols["response_id"],
            )
        seen.setdefault(rid, i + 2)
    probs.raise_if_any(InputError, "bad response ids", file=path)
    texts = [r[headers.index(cols["text"])] for r in rows]  # keep inner whitespace as given
    reasons = [nonanswer_reason(t, nonanswers) for t in texts]
    synthetic = "synthetic" in cols and any(
        v.lower() not in ("", "0", "false", "no", "n") for v in col("synthetic")
    )
    df = pl.DataFrame(
        {
            "month": [month] * len(rows),
            "response_id": ids,
            "row_number": list(range(2, len(rows) + 2)),
            "submitted": col("submitted"),
            "sectors": parse_sectors(col("sectors"), sectors, path),
            "text": texts,
            "role": col("role"),
            "region": col("region"),
            "usable": [r is None for r in reasons],
            "nonanswer": reasons,
        },
        schema_overrides={
            "sectors": pl.List(pl.String),
            "row_number": pl.Int32,
            "nonanswer": pl.String,
        },
    )
    return df, synthetic


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
    reflagged: int = 0  # stored answers whose non-answer status a changed list flipped

    def summary(self) -> str:
        base = f"{self.month}: {self.status}, {self.n_rows} answers ({self.n_usable} usable)"
        if self.reflagged:
            base += f"; {self.reflagged} answers re-flagged by the non-answer list (re-run code)"
        if self.added or self.removed or self.changed:
            base += (
                f"; added {len(self.added)}, removed {len(self.removed)}, "
                f"changed {len(self.changed)}"
            )
        return base


COMPARED = ["submitted", "sectors", "text", "role", "region"]


def diff_responses(old: pl.DataFrame, new: pl.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """Ids added, removed and changed (any compared field differs) between two imports."""
    o, n = set(old["response_id"]), set(new["response_id"])
    both = old.select(["response_id", *COMPARED]).join(
        new.select(["response_id", *COMPARED]), on="response_id", suffix="_new"
    )
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_new")) for c in COMPARED])
    changed = both.filter(differs)["response_id"].sort().to_list()
    return sorted(n - o), sorted(o - n), changed


def _ids(ids: list[str], k: int = 10) -> str:
    return ", ".join(ids[:k]) + (f" and {len(ids) - k} more" if len(ids) > k else "") or "none"


def import_export(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    month: str,
    sectors: Sequence[Sector] = (),
    replace: bool = False,
    nonanswers: Iterable[str] = NONANSWERS,
) -> ImportResult:
    """Import one export for a month. Human decisions are never touched."""
    if not Path(path).is_file():
        raise InputError("file not found", file=path)
    sha = file_sha256(path)
    current = store.current_import(con, month)
    if current and current["sha256"] == sha:
        old = store.responses(con, month)
        return ImportResult(month, "unchanged", old.height, int(old["usable"].sum()))
    df, synthetic = parse_export(path, month, sectors, nonanswers)
    synthetic = synthetic or listed_synthetic(sha)
    n_usable = int(df["usable"].sum())
    status = "new"
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
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
        else:
            status = "same-content"
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
                    "imported_at": [generation_stamp()],
                    "current": [True],
                }
            ),
        )
        if status in ("new", "replaced"):
            con.execute("DELETE FROM joq_responses WHERE month = ?", [month])
            store.insert(con, "joq_responses", df)
        if status == "replaced":
            con.execute("DELETE FROM joq_machine_codes WHERE month = ?", [month])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return ImportResult(month, status, df.height, n_usable, added, removed, changed)
