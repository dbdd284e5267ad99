"""The human review round trip: a spreadsheet out, decisions back in.

Why a spreadsheet: coders work in Excel. The sheet lists the least certain answers first; a coder
fills ``final_codes`` (ids separated by ``;``), ``exclude_quote`` and ``note``. Reading back checks
every code id (naming the spreadsheet row, the value and the closest id), ignores untouched rows,
and appends decisions with coder and time: history is kept and the latest decision wins.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.errors import Problems, ReviewError
from pipeline.core.safety.export import FORMULA_TRIGGERS
from pipeline.core.timeutil import generation_stamp
from pipeline.joq import store
from pipeline.joq.frames import Frame

EDIT_COLUMNS = ("final_codes", "exclude_quote", "note")
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0"}


def review_sheet(
    responses: pl.DataFrame, machine: pl.DataFrame, decisions: pl.DataFrame, frame: Frame
) -> pl.DataFrame:
    """One row per usable answer, least confident first (confidence = lowest assigned score;
    an 'other' row scores 1 - best candidate, so near-misses come first)."""
    labels = {s.code: s.label for s in frame.sectors}
    codes = (
        machine.sort(["response_id", "score"], descending=[False, True])
        .with_columns(pl.format("{} ({})", "code_id", pl.col("score").round(2)).alias("txt"))
        .group_by("response_id", maintain_order=True)
        .agg(
            pl.col("txt").str.join("; ").alias("machine_codes"),
            pl.col("score").min().alias("confidence"),
            (pl.col("code_id") == "other").any().alias("in_other_queue"),
        )
    )
    dec = decisions.select(
        "response_id", pl.col("codes").list.join("; ").alias("current_decision"), "coder"
    )
    sheet = (
        responses.filter(pl.col("usable"))
        .select("response_id", "sectors", "text")
        .join(codes, on="response_id", how="left")
        .join(dec, on="response_id", how="left")
        .with_columns(
            pl.col("sectors")
            .list.eval(pl.element().replace_strict(labels, default=pl.element()))
            .list.join("; ")
        )
    )
    return (
        sheet.with_columns(pl.col("confidence").fill_null(0.0))
        .sort(["confidence", "response_id"])
        .select(
            "response_id",
            "sectors",
            "text",
            "machine_codes",
            "confidence",
            "in_other_queue",
            "current_decision",
            "coder",
            pl.lit(None, pl.String).alias("final_codes"),
            pl.lit(None, pl.String).alias("exclude_quote"),
            pl.lit(None, pl.String).alias("note"),
        )
    )


def codes_sheet(frame: Frame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "code_id": [c.id for c in frame.codes],
            "label": [c.label for c in frame.codes],
            "theme": [c.theme for c in frame.codes],
            "definition": [c.definition for c in frame.codes],
        }
    )


def _clean(v: object) -> str:
    s = "" if v is None else str(v).strip()
    if s.startswith("'") and s[1:].startswith(FORMULA_TRIGGERS):
        s = s[1:]  # undo the export's formula neutralisation
    return s


def read_review(path: Path, frame: Frame, known_ids: set[str]) -> pl.DataFrame:
    """Decisions from a returned review sheet: response_id, codes (list or null), exclude_quote
    (bool or null), note. Raises ReviewError listing every bad row."""
    import openpyxl

    if not path.is_file():
        raise ReviewError("file not found", file=path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
    except Exception as err:  # openpyxl raises many types for a broken file
        raise ReviewError(f"cannot read as XLSX ({type(err).__name__})", file=path) from err
    header_at = next((i for i, r in enumerate(rows) if r and _clean(r[0]) == "response_id"), None)
    if header_at is None:
        raise ReviewError(
            "no header row starting with 'response_id'",
            file=path,
            fix="return the sheet written by `joinedup joq review`",
        )
    header = [_clean(h) for h in rows[header_at]]
    missing = [c for c in ("response_id", *EDIT_COLUMNS) if c not in header]
    if missing:
        raise ReviewError(f"missing column(s) {', '.join(missing)}", file=path)
    col = {c: header.index(c) for c in ("response_id", *EDIT_COLUMNS)}
    valid = frame.code_ids()
    probs = Problems()
    out = []
    for i, r in enumerate(rows[header_at + 1 :], start=header_at + 2):
        cells = {c: _clean(r[j]) if j < len(r) else "" for c, j in col.items()}
        if not any(cells[c] for c in EDIT_COLUMNS):
            continue
        rid = cells["response_id"]
        if rid not in known_ids:
            probs.add(
                f"unknown response id '{rid[:40]}'", file=str(path), row=i, column="response_id"
            )
            continue
        codes = None
        if cells["final_codes"]:
            codes = []
            for v in (x.strip().lower() for x in re.split(r"[;,]", cells["final_codes"])):
                if not v:
                    continue
                if v not in valid:
                    close = difflib.get_close_matches(v, valid, n=1, cutoff=0.0)
                    probs.add(
                        f"unknown code id '{v[:40]}'"
                        + (f"; closest is '{close[0]}'" if close else ""),
                        file=str(path),
                        row=i,
                        column="final_codes",
                        fix="use ids from the 'codes' sheet, separated by ;",
                    )
                elif v not in codes:
                    codes.append(v)
        excl = cells["exclude_quote"].lower()
        if excl and excl not in YES | NO:
            probs.add(
                f"exclude_quote must be yes or no, not '{excl[:20]}'",
                file=str(path),
                row=i,
                column="exclude_quote",
            )
        out.append(
            {
                "response_id": rid,
                "codes": codes or None,
                "exclude_quote": (excl in YES) if excl else None,
                "note": cells["note"] or None,
            }
        )
    probs.raise_if_any(ReviewError, "the review sheet has problems; nothing was applied", file=path)
    return pl.DataFrame(
        out,
        schema={
            "response_id": pl.String,
            "codes": pl.List(pl.String),
            "exclude_quote": pl.Boolean,
            "note": pl.String,
        },
    )


def store_decisions(
    con: duckdb.DuckDBPyConnection, month: str, decisions: pl.DataFrame, coder: str
) -> int:
    """Append decisions (skipping ones identical to the current latest); returns how many."""
    if decisions.height == 0:
        return 0
    latest = store.latest_decisions(con, month)
    current = {
        r["response_id"]: (r["codes"], r["exclude_quote"]) for r in latest.iter_rows(named=True)
    }
    rows = [
        r
        for r in decisions.iter_rows(named=True)
        if r["response_id"] not in current
        or (r["codes"] is not None and r["codes"] != current[r["response_id"]][0])
        or (r["exclude_quote"] is not None and r["exclude_quote"] != current[r["response_id"]][1])
        or r["note"]
    ]
    if not rows:
        return 0
    seq = store.next_seq(con)
    df = pl.DataFrame(rows, schema=decisions.schema).with_columns(
        pl.lit(month).alias("month"),
        pl.lit(coder).alias("coder"),
        pl.lit(generation_stamp()).alias("decided_at"),
        pl.Series("seq", list(range(seq, seq + len(rows))), dtype=pl.Int64),
    )
    store.insert(con, "joq_decisions", df)
    return len(rows)
