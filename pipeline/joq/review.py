"""The human review round trip: a coder's workbook out, decisions back in, none ever lost.

Why a spreadsheet: coders work in Excel. Each sheet lists undecided answers first (least certain
first) and decided ones in their own sheet; a coder picks code ids from drop-downs, may type a new
code, tick ``exclude_quote`` and write a note. Reading back checks every code id (naming the sheet,
row, value and closest id) and ignores untouched rows.

Decisions are appended with coder, time and the sheet they came from: history is kept and the
latest decision wins. A sheet carries the decision state it was made from (``workbook.SheetState``),
so applying it after someone else decided one of its answers is refused (``conflicts``), and
applying the same sheet twice stores nothing new (``to_append``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipeline.core.errors import Problems
from pipeline.core.timeutil import generation_stamp
from pipeline.joq import store
from pipeline.joq.frames import Frame

if TYPE_CHECKING:  # workbook imports openpyxl: loaded by the commands that write or read a sheet
    from pipeline.joq.workbook import Returned, SheetState

YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0"}
DECISION_SCHEMA = {
    "response_id": pl.String,
    "codes": pl.List(pl.String),
    "exclude_quote": pl.Boolean,
    "note": pl.String,
}


def _consent(v: bool | None) -> str:
    return "not asked" if v is None else ("yes" if v else "no")


def answer_columns(
    responses: pl.DataFrame, frame: Frame, redact: Callable[[str], str]
) -> pl.DataFrame:
    """What a coder needs to see of each answer: export row, id, redacted text, role, region,
    sector labels and quote consent."""
    labels = {s.code: s.label for s in frame.sectors}
    consent = responses["consent"] if "consent" in responses.columns else None
    return pl.DataFrame(
        {
            "no": responses["row_number"].cast(pl.Int64),
            "response_id": responses["response_id"],
            "answer": [redact(t) for t in responses["text"].to_list()],
            "role": responses["role"],
            "region": responses["region"],
            "sectors": [
                "; ".join(labels.get(c, c) for c in (cs or []))
                for cs in responses["sectors"].to_list()
            ],
            "consent": [
                _consent(v)
                for v in (consent.to_list() if consent is not None else [None] * responses.height)
            ],
        }
    )


def machine_summary(machine: pl.DataFrame) -> pl.DataFrame:
    """Per response: its machine codes with scores, the lowest score, and whether it is 'other'."""
    if machine.height == 0:
        return pl.DataFrame(
            schema={
                "response_id": pl.String,
                "machine_codes": pl.String,
                "confidence": pl.Float64,
                "other_queue": pl.Boolean,
            }
        )
    return (
        machine.sort(["response_id", "score"], descending=[False, True])
        .with_columns(pl.format("{} ({})", "code_id", pl.col("score").round(2)).alias("txt"))
        .group_by("response_id", maintain_order=True)
        .agg(
            pl.col("txt").str.join("; ").alias("machine_codes"),
            pl.col("score").min().round(2).alias("confidence"),
            (pl.col("code_id") == "other").any().alias("other_queue"),
        )
    )


def review_sheets(
    responses: pl.DataFrame,
    machine: pl.DataFrame,
    latest: pl.DataFrame,
    stale: Iterable[str],
    frame: Frame,
    redact: Callable[[str], str],
) -> dict[str, pl.DataFrame]:
    """``review``: undecided usable answers, least confident first (an 'other' answer scores
    1 - best candidate, so near-misses come first; an answer changed under a decision first of
    all); ``decided``: answers with a human decision, with who decided, when, and the note."""
    usable = responses.filter(pl.col("usable"))
    stale = set(stale)
    base = answer_columns(usable, frame, redact).join(
        machine_summary(machine), on="response_id", how="left"
    )
    dec = latest.filter(pl.col("codes").is_not_null()).select(
        "response_id",
        pl.col("codes").list.join("; ").alias("decided_codes"),
        pl.col("coder").alias("decided_by"),
        "decided_at",
        pl.col("note").alias("decision_note"),
    )
    flag = (
        pl.when(pl.col("response_id").is_in(list(stale)))
        .then(pl.lit("answer changed since it was decided: decide again"))
        .when(pl.col("other_queue").fill_null(False))
        .then(pl.lit("other queue"))
        .otherwise(pl.lit(""))
        .alias("flag")
    )
    undecided = (
        base.join(dec, on="response_id", how="anti")
        .with_columns(flag, pl.col("confidence").fill_null(0.0))
        .with_columns(pl.col("response_id").is_in(list(stale)).alias("_stale"))
        .sort(["_stale", "confidence", "response_id"], descending=[True, False, False])
        .drop("_stale", "other_queue")
    )
    decided = (
        base.join(dec, on="response_id", how="inner")
        .with_columns(flag)
        .sort("no")
        .select(
            "no",
            "response_id",
            "answer",
            "role",
            "region",
            "sectors",
            "consent",
            "decided_codes",
            "decided_by",
            "decided_at",
            "decision_note",
            "machine_codes",
            "flag",
        )
    )
    return {"review": undecided, "decided": decided}


def blind_sheet(
    responses: pl.DataFrame, ids: list[str], frame: Frame, redact: Callable[[str], str]
) -> pl.DataFrame:
    """A second coder's sheet: the sampled answers only, with no machine or human codes shown."""
    pick = responses.filter(pl.col("response_id").is_in(ids)).sort("row_number")
    return answer_columns(pick, frame, redact)


def sheet_id(month: str, coder: str, kind: str, frame_version: int, seqs: dict[str, int]) -> str:
    """Deterministic: the same state gives the same id (and the same bytes)."""
    key = json.dumps([month, coder, kind, frame_version, sorted(seqs.items())])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def make_state(
    con: duckdb.DuckDBPyConnection,
    month: str,
    coder: str,
    kind: str,
    frame: Frame,
    ids: Iterable[str],
    seed: int | None = None,
) -> SheetState:
    last = store.last_seqs(con, month)
    seqs = {r: last.get(r, (0, None))[0] for r in ids}
    sid = sheet_id(month, coder, kind, frame.version, seqs)
    from pipeline.joq.workbook import SheetState

    return SheetState(sid, month, coder, kind, frame.version, seed, seqs)


def _slug(label: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return s if re.match(r"^[a-z]", s) else f"code_{s}" if s else ""


def parse_decisions(
    returned: Returned,
    valid: Iterable[str],
    aliases: Mapping[str, str],
    known_ids: set[str],
    max_codes: int,
    labels: Mapping[str, str] | None = None,
) -> tuple[pl.DataFrame, dict[str, str], Problems]:
    """Decisions from every edited row, new codes typed in ``new_code`` (id -> label), and every
    problem found (sheet, row, column, value, closest id). A ``new_code`` that is an existing
    code's label or id (``labels``: lower-cased label -> id) is that code, not a new one."""
    labels = dict(labels or {})
    valid = list(valid)
    probs = Problems()
    file = str(returned.path)
    code_cols = [f"code_{k}" for k in range(1, max_codes + 1)]
    edit = [*code_cols, "new_code", "exclude_quote", "note"]
    out: list[dict] = []
    new: dict[str, str] = {}
    seen: dict[str, str] = {}
    for sheet, i, cells in returned.rows:
        extra = sorted(c for c in cells if re.fullmatch(r"code_\d+", c) and c not in code_cols)
        if any(cells.get(c) for c in extra):
            probs.add(
                f"column {extra[0]} is beyond this frame's max_codes ({max_codes})",
                file=file,
                row=i,
                column=extra[0],
            )
        if not any(cells.get(c) for c in edit):
            continue
        rid = cells.get("response_id", "")
        where = f"{sheet} row {i}"
        if rid not in known_ids:
            probs.add(f"{where}: unknown response id '{rid[:40]}'", file=file, column="response_id")
            continue
        if rid in seen:
            probs.add(f"{where}: response {rid} is also edited at {seen[rid]}", file=file)
            continue
        seen[rid] = where
        codes: list[str] = []
        for col in code_cols:
            v = cells.get(col, "").strip().lower()
            if not v:
                continue
            v = aliases.get(v, v)
            if v not in valid:
                close = difflib.get_close_matches(v, valid, n=1, cutoff=0.0)
                probs.add(
                    f"{where}: unknown code id '{v[:40]}'"
                    + (f"; closest is '{close[0]}'" if close else ""),
                    file=file,
                    column=col,
                    fix="choose from the drop-down (ids in the codebook sheet); "
                    "type a new code in new_code",
                )
            elif v not in codes:
                codes.append(v)
        for label in (x.strip() for x in re.split(r"[;\n]", cells.get("new_code", ""))):
            if not label:
                continue
            cid = labels.get(label.lower()) or _slug(label)
            cid = aliases.get(cid, cid)
            if cid not in valid:
                new.setdefault(cid, label)
            if cid not in codes:
                codes.append(cid)
        excl = cells.get("exclude_quote", "").lower()
        if excl and excl not in YES | NO:
            probs.add(
                f"{where}: exclude_quote must be yes or no, not '{excl[:20]}'",
                file=file,
                column="exclude_quote",
            )
        out.append(
            {
                "response_id": rid,
                "codes": codes or None,
                "exclude_quote": (excl in YES) if excl else None,
                "note": cells.get("note") or None,
            }
        )
    return pl.DataFrame(out, schema=DECISION_SCHEMA), new, probs


def conflicts(
    state: SheetState, last: Mapping[str, tuple[int, str | None]], decisions: pl.DataFrame
) -> list[str]:
    """Answers this sheet changes that someone decided after the sheet was written (a decision
    from this very sheet, applied before, is not a conflict)."""
    out = []
    for rid in decisions["response_id"].to_list():
        seq, sid = last.get(rid, (0, None))
        if seq > state.seqs.get(rid, 0) and sid != state.sheet_id:
            out.append(rid)
    return sorted(out)


def to_append(
    con: duckdb.DuckDBPyConnection, month: str, decisions: pl.DataFrame, coder: str
) -> pl.DataFrame:
    """The decisions that change something: a row equal to the current decision by the same coder
    (codes as a set, exclude_quote, note) is skipped, so re-applying a sheet is idempotent."""
    latest = {r["response_id"]: r for r in store.latest_decisions(con, month).iter_rows(named=True)}
    keep = []
    for r in decisions.iter_rows(named=True):
        cur = latest.get(r["response_id"])
        if cur is None:
            keep.append(r)
            continue
        same = (
            (
                r["codes"] is None
                or (set(r["codes"]) == set(cur["codes"] or []) and cur["coder"] == coder)
            )
            and (r["exclude_quote"] is None or r["exclude_quote"] == cur["exclude_quote"])
            and (r["note"] is None or r["note"] == cur["note"])
        )
        if not same:
            keep.append(r)
    return pl.DataFrame(keep, schema=DECISION_SCHEMA)


def store_decisions(
    con: duckdb.DuckDBPyConnection,
    month: str,
    decisions: pl.DataFrame,
    coder: str,
    sheet: str | None = None,
) -> int:
    """Append the decisions that change something (see ``to_append``); returns how many."""
    rows = to_append(con, month, decisions, coder)
    if rows.height == 0:
        return 0
    seq = store.next_seq(con)
    df = rows.with_columns(
        pl.lit(month).alias("month"),
        pl.lit(coder).alias("coder"),
        pl.lit(generation_stamp()).alias("decided_at"),
        pl.Series("seq", list(range(seq, seq + rows.height)), dtype=pl.Int64),
        pl.lit(sheet, pl.String).alias("sheet_id"),
    )
    store.insert(con, "joq_decisions", df)
    return rows.height


def instructions(state: SheetState, max_codes: int, db_hint: str = "") -> list[str]:
    """The first sheet a coder sees: what to do, in the order they do it."""
    who = state.coder or "YOUR_INITIALS"
    apply = f"joinedup joq review {state.month} --apply THIS_FILE --coder {who}{db_hint}"
    lines = [
        f"JOQ review, {state.month}" + (f", coder {state.coder}" if state.coder else ""),
        "",
        "1. Sheet 'review' holds the answers nobody has decided yet, least certain first. "
        "Sheet 'decided' holds answers already decided, with who decided, when and their note.",
        f"2. For each answer you decide, choose up to {max_codes} code ids in code_1.."
        f"code_{max_codes} (drop-down lists; the codebook sheet says what each code means). "
        "'other' means no code fits.",
        "3. No code fits and a new one is needed? Type its label in new_code (several separated "
        "by ;). It is added to the frame when you apply with --add-codes.",
        "4. exclude_quote: choose yes to keep this answer out of the report's quotes. "
        "note: anything the next coder should know; notes are kept and shown in 'decided'.",
        "5. To change a decision, choose new codes on its row in 'decided'.",
        "6. Codebook: edit labels, definitions, include/exclude phrases (separated by ;), "
        "exemplars (the 'no' of an answer, or its response id, separated by ;) and memos. "
        "Add a code: add a row with a new id. Merge: write 'merge into OTHER_ID' in action. "
        "Rename an id: 'rename to NEW_ID'. Delete: 'delete'. Split: add the new code's row and "
        "move exemplars and phrases to it. When the codebook is final, apply with "
        "--mark-reviewed (the frame becomes status: reviewed; `code` refuses a draft frame).",
        "7. Leave untouched rows empty; only rows you edit are read. Do not delete or rename "
        "columns or the hidden sheets.",
        f"8. Save, close Excel, then run:  {apply}",
        "   If someone else decided one of your answers after this sheet was written, the apply "
        "is refused with their ids; applying the same sheet twice stores nothing twice.",
        "",
        f"sheet id {state.sheet_id}; frame version {state.frame_version}; kind {state.kind}"
        + (f"; sample seed {state.seed}" if state.seed is not None else ""),
        "Answer texts have email addresses, phone numbers, postcodes and links replaced "
        "by [email], [phone], [postcode], [url].",
    ]
    return lines
