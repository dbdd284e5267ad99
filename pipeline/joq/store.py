"""The JOQ DuckDB store: one database holds every month, keyed by month.

Grain of each table:
- ``joq_imports``: one row per imported export file version (month, sha256).
- ``joq_responses``: one row per month x response id (the current import).
- ``joq_samples``: one row per month x sampled response id (discovery sample, seed recorded).
- ``joq_machine_codes``: one row per month x response x machine-assigned code (latest run only).
- ``joq_decisions``: one row per human decision, history kept; the latest per response wins.
- ``joq_runs``: one row per coding run (frame version, model id, thresholds, seeds).
- ``joq_code_themes``: one row per month x frame code (label and taxonomy theme of the latest run).
- ``joq_agreement``: one row per month, the latest agreement table (JSON) and its gold file name.
- ``joq_month_state``: one row per month that needs re-coding (an export was replaced since the
  last ``code``); ``code`` clears it and ``report`` refuses while it is set.
- ``joq_stale_decisions``: one row per response whose answer text changed under a human decision
  (decisions up to ``upto_seq`` are kept in history but no longer count until a coder decides again).
- ``joq_sheets``: one row per review workbook written or applied (sheet id, coder, kind, seed).
- ``joq_code_aliases``: one row per month x code id merged or renamed away (old id -> new id).
- ``joq_code_cache``: one row per month, the latest ``code`` result (machine codes and the other
  queue as Arrow IPC bytes) under the hash of everything that decided it; a re-run with the same
  hash reuses it instead of scoring again.
Human decisions live in their own table so no re-import or re-code can drop them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.errors import InputError

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS joq_imports (
        month VARCHAR, file VARCHAR, sha256 VARCHAR, n_rows INTEGER, synthetic BOOLEAN,
        imported_at VARCHAR, current BOOLEAN)""",
    """CREATE TABLE IF NOT EXISTS joq_responses (
        month VARCHAR, response_id VARCHAR, row_number INTEGER, submitted VARCHAR,
        sectors VARCHAR[], text VARCHAR, role VARCHAR, region VARCHAR,
        usable BOOLEAN, nonanswer VARCHAR, PRIMARY KEY (month, response_id))""",
    """CREATE TABLE IF NOT EXISTS joq_samples (
        month VARCHAR, seed BIGINT, size INTEGER, stratify_by VARCHAR, response_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_machine_codes (
        month VARCHAR, response_id VARCHAR, code_id VARCHAR, theme VARCHAR, score DOUBLE,
        method VARCHAR, run_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_decisions (
        month VARCHAR, response_id VARCHAR, codes VARCHAR[], exclude_quote BOOLEAN,
        note VARCHAR, coder VARCHAR, decided_at VARCHAR, seq BIGINT)""",
    "ALTER TABLE joq_decisions ADD COLUMN IF NOT EXISTS sheet_id VARCHAR",
    "ALTER TABLE joq_responses ADD COLUMN IF NOT EXISTS consent BOOLEAN",
    "ALTER TABLE joq_imports ADD COLUMN IF NOT EXISTS layout VARCHAR",
    "ALTER TABLE joq_imports ADD COLUMN IF NOT EXISTS encoding VARCHAR",
    "ALTER TABLE joq_imports ADD COLUMN IF NOT EXISTS mapping VARCHAR",
    """CREATE TABLE IF NOT EXISTS joq_month_state (
        month VARCHAR PRIMARY KEY, reason VARCHAR, since VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_stale_decisions (
        month VARCHAR, response_id VARCHAR, upto_seq BIGINT, reason VARCHAR, flagged_at VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_sheets (
        sheet_id VARCHAR, month VARCHAR, coder VARCHAR, kind VARCHAR, event VARCHAR,
        seed BIGINT, n_rows INTEGER, recorded_at VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_code_aliases (
        month VARCHAR, old_id VARCHAR, new_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_runs (
        month VARCHAR, run_id VARCHAR, frame_version INTEGER, model_id VARCHAR,
        thresholds VARCHAR, seeds VARCHAR, n_training INTEGER, created_at VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_code_themes (
        month VARCHAR, code_id VARCHAR, label VARCHAR, theme VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_code_cache (
        month VARCHAR PRIMARY KEY, key VARCHAR, run_id VARCHAR, n_training INTEGER,
        machine BLOB, other BLOB)""",
    """CREATE TABLE IF NOT EXISTS joq_agreement (
        month VARCHAR, gold_file VARCHAR, table_json VARCHAR, computed_at VARCHAR)""",
    # earlier months' human-coded answers a run learnt from (JSON: months, answers, weight)
    "ALTER TABLE joq_runs ADD COLUMN IF NOT EXISTS history VARCHAR",
]


def database_error(err: Exception, db: Path | str | None = None) -> InputError:
    """A DuckDB failure as a message the user can act on: damaged file, held lock, or other."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    lowered = text.lower()
    if "not a valid duckdb database" in lowered or "corrupt" in lowered or "checksum" in lowered:
        return InputError(
            "the database file is damaged or is not a DuckDB database",
            file=db,
            fix="restore it from a backup, or pass another --db (a new file starts empty and "
            "months must be imported again)",
        )
    if "read-only" in lowered or "permission denied" in lowered or "no space" in lowered:
        return InputError(
            f"the database cannot be written here ({text[:120]})",
            file=db,
            fix="pass a --db in a folder you can write to, with free space",
        )
    if "lock" in lowered:
        return InputError(
            "another program has the database open",
            file=db,
            fix="close the other joinedup run or program using it, or pass another --db",
        )
    return InputError(
        f"the database reported an error ({type(err).__name__}: {text[:160]})",
        file=db,
        fix="if the file was copied or edited by hand, restore it from a backup or pass another --db",
    )


def connect(db: Path | str) -> duckdb.DuckDBPyConnection:
    """Open (creating) the database and its JOQ tables; any DuckDB failure is an InputError."""
    if str(db) != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    con = None
    try:
        con = duckdb.connect(str(db))
        for stmt in SCHEMA:
            con.execute(stmt)
        # touch every table once, so a damaged file is found here, not half-way through a step
        for table in ("joq_imports", "joq_responses", "joq_decisions", "joq_machine_codes"):
            con.execute(f"SELECT count(*) FROM {table}").fetchall()
    except duckdb.Error as err:
        if con is not None:
            con.close()
        raise database_error(err, db) from err
    return con


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    rel = con.sql(sql, params=params or None)
    return pl.from_arrow(rel.to_arrow_table())  # type: ignore[return-value,union-attr]


def insert(con: duckdb.DuckDBPyConnection, table: str, df: pl.DataFrame) -> None:
    """Append a frame whose columns are named as the table's (order-independent)."""
    if df.height == 0:
        return
    con.register("_joq_ins", df.to_arrow())
    cols = ", ".join(df.columns)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _joq_ins")
    con.unregister("_joq_ins")


def responses(
    con: duckdb.DuckDBPyConnection, month: str, usable_only: bool = False
) -> pl.DataFrame:
    where = " AND usable" if usable_only else ""
    return query(
        con, f"SELECT * FROM joq_responses WHERE month = ?{where} ORDER BY response_id", [month]
    )


def set_nonanswers(con: duckdb.DuckDBPyConnection, month: str, flips: pl.DataFrame) -> None:
    """New ``usable`` / ``nonanswer`` values for stored answers (response_id, usable, nonanswer)."""
    con.register("_flips", flips.to_arrow())
    con.execute(
        "UPDATE joq_responses r SET usable = f.usable, nonanswer = f.nonanswer FROM _flips f "
        "WHERE r.month = ? AND r.response_id = f.response_id",
        [month],
    )
    con.unregister("_flips")


def months(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute("SELECT DISTINCT month FROM joq_responses ORDER BY month").fetchall()
    ]


LIVE = """SELECT d.* FROM joq_decisions d WHERE d.month = ? AND NOT EXISTS (
    SELECT 1 FROM joq_stale_decisions z WHERE z.month = d.month
    AND z.response_id = d.response_id AND d.seq <= z.upto_seq)"""


def latest_decisions(con: duckdb.DuckDBPyConnection, month: str) -> pl.DataFrame:
    """Latest live decision per response: codes (with coder, time and sheet) from the latest row
    that set codes, exclude_quote and note from the latest rows that set them (a reviewer may only
    tick exclude_quote). Decisions made on an answer text that has since changed do not count."""
    return query(
        con,
        f"""
        WITH d AS ({LIVE})
        SELECT r.response_id,
          (SELECT codes FROM d x WHERE x.response_id = r.response_id AND codes IS NOT NULL
             ORDER BY seq DESC LIMIT 1) AS codes,
          (SELECT coder FROM d x WHERE x.response_id = r.response_id AND codes IS NOT NULL
             ORDER BY seq DESC LIMIT 1) AS coder,
          coalesce((SELECT exclude_quote FROM d x WHERE x.response_id = r.response_id
             AND exclude_quote IS NOT NULL ORDER BY seq DESC LIMIT 1), false) AS exclude_quote,
          (SELECT note FROM d x WHERE x.response_id = r.response_id AND note IS NOT NULL
             ORDER BY seq DESC LIMIT 1) AS note,
          (SELECT decided_at FROM d x WHERE x.response_id = r.response_id
             ORDER BY seq DESC LIMIT 1) AS decided_at,
          (SELECT max(seq) FROM d x WHERE x.response_id = r.response_id) AS seq
        FROM (SELECT DISTINCT response_id FROM d) r ORDER BY r.response_id""",
        [month],
    )


def decisions_by(con: duckdb.DuckDBPyConnection, month: str, coder: str) -> pl.DataFrame:
    """One coder's latest live decision with codes per response (response_id, codes)."""
    return query(
        con,
        f"""SELECT response_id, codes FROM (
              SELECT *, row_number() OVER (PARTITION BY response_id ORDER BY seq DESC) AS rn
              FROM ({LIVE}) WHERE coder = ? AND codes IS NOT NULL) WHERE rn = 1
            ORDER BY response_id""",
        [month, coder],
    )


def last_seqs(con: duckdb.DuckDBPyConnection, month: str) -> dict[str, tuple[int, str | None]]:
    """Per response: the seq of its latest decision (live or not) and the sheet it came from."""
    rows = con.execute(
        """SELECT response_id, seq, sheet_id FROM (
             SELECT *, row_number() OVER (PARTITION BY response_id ORDER BY seq DESC) AS rn
             FROM joq_decisions WHERE month = ?) WHERE rn = 1""",
        [month],
    ).fetchall()
    return {r: (int(q), sh) for r, q, sh in rows}


def stale_ids(con: duckdb.DuckDBPyConnection, month: str) -> list[str]:
    """Responses whose decision was made on a text that has changed, and not decided again."""
    rows = con.execute(
        """SELECT DISTINCT z.response_id FROM joq_stale_decisions z WHERE z.month = ?
           AND NOT EXISTS (SELECT 1 FROM joq_decisions d WHERE d.month = z.month
             AND d.response_id = z.response_id AND d.seq > z.upto_seq)
           ORDER BY 1""",
        [month],
    ).fetchall()
    return [r[0] for r in rows]


def mark_needs_recode(con: duckdb.DuckDBPyConnection, month: str, reason: str, since: str) -> None:
    con.execute("DELETE FROM joq_month_state WHERE month = ?", [month])
    con.execute("INSERT INTO joq_month_state VALUES (?, ?, ?)", [month, reason, since])


def clear_needs_recode(con: duckdb.DuckDBPyConnection, month: str) -> None:
    con.execute("DELETE FROM joq_month_state WHERE month = ?", [month])


def needs_recode(con: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """Why the month's machine codes are out of date, or None when they are current."""
    rows = con.execute(
        "SELECT reason, since FROM joq_month_state WHERE month = ?", [month]
    ).fetchall()
    return f"{rows[0][0]} ({rows[0][1]})" if rows else None


def require_current(con: duckdb.DuckDBPyConnection, month: str) -> None:
    """Refuse to publish a month whose codes predate its current import (report calls this)."""
    why = needs_recode(con, month)
    if why:
        raise InputError(
            f"month {month} needs re-coding: {why}; its codes and counts would be wrong",
            fix=f"run `joinedup joq code {month}`, then the report again",
        )


def _ipc(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_ipc(buf)
    return buf.getvalue()


def save_code_cache(
    con: duckdb.DuckDBPyConnection,
    month: str,
    key: str,
    run_id: str,
    n_training: int,
    machine: pl.DataFrame,
    other: pl.DataFrame,
) -> None:
    """Keep a ``code`` result under its input hash (one per month: the latest run)."""
    con.execute("DELETE FROM joq_code_cache WHERE month = ?", [month])
    con.execute(
        "INSERT INTO joq_code_cache VALUES (?, ?, ?, ?, ?, ?)",
        [month, key, run_id, n_training, _ipc(machine), _ipc(other)],
    )


def code_cache(
    con: duckdb.DuckDBPyConnection, month: str, key: str
) -> tuple[str, int, pl.DataFrame, pl.DataFrame] | None:
    """The stored ``code`` result for exactly this input hash: run id, n_training, machine codes
    and the other queue; None when the month was never coded with these inputs."""
    rows = con.execute(
        "SELECT run_id, n_training, machine, other FROM joq_code_cache WHERE month = ? AND key = ?",
        [month, key],
    ).fetchall()
    if not rows:
        return None
    run_id, n_training, machine, other = rows[0]
    return (
        run_id,
        int(n_training),
        pl.read_ipc(io.BytesIO(machine)),
        pl.read_ipc(io.BytesIO(other)),
    )


def next_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM joq_decisions").fetchall()[0][0])


def final_codes(con: duckdb.DuckDBPyConnection, month: str) -> pl.DataFrame:
    """One row per usable response x final code: a human decision wins over the machine."""
    return query(
        con,
        f"""
        WITH dec AS (
          SELECT response_id, codes, coder FROM (
            SELECT *, row_number() OVER (PARTITION BY response_id ORDER BY seq DESC) AS rn
            FROM ({LIVE}) WHERE codes IS NOT NULL) WHERE rn = 1),
        raw AS (
          SELECT d.response_id, unnest(d.codes) AS code_id, d.coder FROM dec d),
        human AS (
          SELECT DISTINCT h.response_id, coalesce(a.new_id, h.code_id) AS code_id, 1.0 AS score,
                 'human:' || h.coder AS method FROM raw h
          LEFT JOIN joq_code_aliases a ON a.month = ? AND a.old_id = h.code_id),
        machine AS (
          SELECT m.response_id, m.code_id, m.score, m.method FROM joq_machine_codes m
          WHERE m.month = ? AND m.response_id NOT IN (SELECT response_id FROM dec))
        SELECT c.response_id, c.code_id, coalesce(t.theme, 'other') AS theme, c.score, c.method
        FROM (SELECT * FROM human UNION ALL SELECT * FROM machine) c
        JOIN joq_responses r ON r.month = ? AND r.response_id = c.response_id AND r.usable
        LEFT JOIN joq_code_themes t ON t.month = ? AND t.code_id = c.code_id
        ORDER BY c.response_id, c.score DESC, c.code_id""",
        [month, month, month, month, month],
    )


def latest_run(con: duckdb.DuckDBPyConnection, month: str) -> dict | None:
    df = query(
        con,
        "SELECT * FROM joq_runs WHERE month = ? ORDER BY created_at DESC, run_id DESC LIMIT 1",
        [month],
    )
    if df.height == 0:
        return None
    row = df.row(0, named=True)
    row["thresholds"] = json.loads(row["thresholds"])
    row["seeds"] = json.loads(row["seeds"])
    row["history"] = json.loads(row.get("history") or "{}")
    return row


def current_import(con: duckdb.DuckDBPyConnection, month: str) -> dict | None:
    df = query(con, "SELECT * FROM joq_imports WHERE month = ? AND current", [month])
    return df.row(0, named=True) if df.height else None


def save_agreement(
    con: duckdb.DuckDBPyConnection, month: str, gold_file: str, table: pl.DataFrame, at: str
) -> None:
    """Keep the month's latest agreement table (the report shows it)."""
    con.execute("DELETE FROM joq_agreement WHERE month = ?", [month])
    con.execute(
        "INSERT INTO joq_agreement VALUES (?, ?, ?, ?)", [month, gold_file, table.write_json(), at]
    )


def agreement(con: duckdb.DuckDBPyConnection, month: str) -> pl.DataFrame | None:
    """The month's stored agreement table, or None when agreement was never measured."""
    rows = con.execute("SELECT table_json FROM joq_agreement WHERE month = ?", [month]).fetchall()
    return pl.read_json(io.StringIO(rows[0][0])) if rows else None
