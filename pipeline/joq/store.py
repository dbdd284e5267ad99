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
    """CREATE TABLE IF NOT EXISTS joq_runs (
        month VARCHAR, run_id VARCHAR, frame_version INTEGER, model_id VARCHAR,
        thresholds VARCHAR, seeds VARCHAR, n_training INTEGER, created_at VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_code_themes (
        month VARCHAR, code_id VARCHAR, label VARCHAR, theme VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS joq_agreement (
        month VARCHAR, gold_file VARCHAR, table_json VARCHAR, computed_at VARCHAR)""",
]


def connect(db: Path | str) -> duckdb.DuckDBPyConnection:
    """Open (creating) the database and its JOQ tables."""
    if str(db) != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db))
    except duckdb.Error as err:
        raise InputError(
            f"cannot open the database ({type(err).__name__})",
            file=db,
            fix="close other programs using it, or pass another --db",
        ) from err
    for stmt in SCHEMA:
        con.execute(stmt)
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


def latest_decisions(con: duckdb.DuckDBPyConnection, month: str) -> pl.DataFrame:
    """Latest decision per response: codes from the latest row that set codes, exclude_quote from
    the latest row that set it (a reviewer may only tick exclude_quote)."""
    return query(
        con,
        """
        WITH d AS (SELECT * FROM joq_decisions WHERE month = ?)
        SELECT r.response_id,
          (SELECT codes FROM d x WHERE x.response_id = r.response_id AND codes IS NOT NULL
             ORDER BY seq DESC LIMIT 1) AS codes,
          (SELECT coder FROM d x WHERE x.response_id = r.response_id AND codes IS NOT NULL
             ORDER BY seq DESC LIMIT 1) AS coder,
          coalesce((SELECT exclude_quote FROM d x WHERE x.response_id = r.response_id
             AND exclude_quote IS NOT NULL ORDER BY seq DESC LIMIT 1), false) AS exclude_quote
        FROM (SELECT DISTINCT response_id FROM d) r ORDER BY r.response_id""",
        [month],
    )


def next_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM joq_decisions").fetchall()[0][0])


def final_codes(con: duckdb.DuckDBPyConnection, month: str) -> pl.DataFrame:
    """One row per usable response x final code: a human decision wins over the machine."""
    return query(
        con,
        """
        WITH dec AS (
          SELECT response_id, codes, coder FROM (
            SELECT *, row_number() OVER (PARTITION BY response_id ORDER BY seq DESC) AS rn
            FROM joq_decisions WHERE month = ? AND codes IS NOT NULL) WHERE rn = 1),
        human AS (
          SELECT d.response_id, unnest(d.codes) AS code_id, 1.0 AS score,
                 'human:' || d.coder AS method FROM dec d),
        machine AS (
          SELECT m.response_id, m.code_id, m.score, m.method FROM joq_machine_codes m
          WHERE m.month = ? AND m.response_id NOT IN (SELECT response_id FROM dec))
        SELECT c.response_id, c.code_id, coalesce(t.theme, 'other') AS theme, c.score, c.method
        FROM (SELECT * FROM human UNION ALL SELECT * FROM machine) c
        JOIN joq_responses r ON r.month = ? AND r.response_id = c.response_id AND r.usable
        LEFT JOIN joq_code_themes t ON t.month = ? AND t.code_id = c.code_id
        ORDER BY c.response_id, c.score DESC, c.code_id""",
        [month, month, month, month],
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
