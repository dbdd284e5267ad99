"""What a person waits for: whole `joinedup` commands, start-up included, each in a fresh process.

``python -m tools.benchmarks.commands`` imports the reference JOQ month 2025-01 into a scratch
database, codes it once with the bundled model (cold: every embedding computed), then times
`joq code` again (warm: nothing changed, so the stored result is reused), `joq code` after a new
human decision each time (embeddings cached, but the answers are scored again), `joq report`,
`joq review` and `joq agreement`, and `survey run` on the 320-row reference export with its
default options (first run into an empty folder, then re-runs). Medians of 3; prints JSON. Whether a command imported torch is read from ``sys.modules`` in the same process.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JOQ = ROOT / "data" / "reference" / "joq"
MONTH = "2025-01"
SURVEY = ROOT / "data" / "reference" / "interactions_2025_export.csv"

# Runs the CLI as the console script does, then says whether torch was imported and its own
# peak RSS (a child's children are not counted).
CALL = (
    "import resource, sys; from cli import app\n"
    "try:\n    rc = app(sys.argv[1:], standalone_mode=False)\n"
    "finally:\n    print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)\n"
    "    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(rc if isinstance(rc, int) else 0)\n"
)


def measured(args: list[str]) -> dict:
    """One command in a fresh process: wall seconds ``s``, CPU seconds ``cpu_s`` (user + system
    of the child: what a shared machine's load does not inflate), whether it imported ``torch``,
    and its peak memory ``peak_mb``."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.setdefault("JOINEDUP_PSEUDONYM_KEY", "bench-key-0123456789abcdef0123")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CALL, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_kb = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_KB")
    )
    return {
        "s": seconds,
        "cpu_s": cpu,
        "torch": "NO-TORCH" not in done.stderr,
        "peak_mb": round(peak_kb / 1024),
    }


def timed(args: list[str]) -> tuple[float, float, bool]:
    """Wall seconds, CPU seconds and whether torch was imported (``measured``)."""
    m = measured(args)
    return m["s"], m["cpu_s"], m["torch"]


def decide_one(db: Path, k: int) -> None:
    """Record one more human decision (answer ``k``, code 'other'), as a coder applying a sheet
    would: the next `joq code` must score the month again."""
    import polars as pl

    from pipeline.joq import review, store

    con = store.connect(db)
    try:
        answer = store.responses(con, MONTH, usable_only=True)["response_id"][k]
        decision = pl.DataFrame(
            {
                "response_id": [answer],
                "codes": [["other"]],
                "exclude_quote": [None],
                "note": [None],
            },
            schema={
                "response_id": pl.String,
                "codes": pl.List(pl.String),
                "exclude_quote": pl.Boolean,
                "note": pl.String,
            },
        )
        review.store_decisions(con, MONTH, decision, "bench")
    finally:
        con.close()


def summary(runs: list[tuple[float, float, bool]]) -> dict:
    return {
        "s": statistics.median(s for s, _, _ in runs),
        "cpu_s": statistics.median(c for _, c, _ in runs),
        "torch": any(t for _, _, t in runs),
        "runs": len(runs),
    }


def measure(repeat: int = 3) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="joinedup-bench-"))
    where = ["--db", str(tmp / "joq.duckdb"), "--out", str(tmp / "out")]
    timed(["joq", "import", str(JOQ / f"{MONTH}_export.csv"), "--month", MONTH, where[0], where[1]])
    cold, cold_cpu, cold_torch = timed(["joq", "code", MONTH, *where])
    commands = {
        "joq code (warm cache)": ["joq", "code", MONTH, *where],
        "joq report": ["joq", "report", MONTH, *where],
        "joq review": ["joq", "review", MONTH, *where],
        "joq agreement": [
            "joq",
            "agreement",
            MONTH,
            "--gold",
            str(JOQ / f"{MONTH}_gold.csv"),
            "--split",
            str(JOQ / f"{MONTH}_split.csv"),
            *where,
        ],
    }
    out: dict = {
        "joq code (cold cache)": {"s": cold, "cpu_s": cold_cpu, "torch": cold_torch, "runs": 1}
    }
    for name, args in commands.items():
        out[name] = summary([timed(args) for _ in range(repeat)])
    changed = []
    for k in range(repeat):
        decide_one(tmp / "joq.duckdb", k)
        changed.append(timed(commands["joq code (warm cache)"]))
    out["joq code (warm, a decision changed)"] = summary(changed)
    # survey: each first run into its own empty folder, then re-runs into the first one
    survey = ["survey", "run", str(SURVEY), "--out"]
    fresh = [timed([*survey, str(tmp / f"survey{k}")]) for k in range(repeat)]
    out["survey run (320 rows)"] = summary(fresh)
    again = [timed([*survey, str(tmp / "survey0")]) for _ in range(repeat)]
    out["survey run (320 rows, re-run)"] = summary(again)
    return out


TARGETS = {
    "joq report": 1.5,
    "joq review": 1.5,
    "joq agreement": 1.5,
    "joq code (warm cache)": 2.0,
    "joq code (warm, a decision changed)": 2.0,
    "survey run (320 rows)": 2.0,
    "survey run (320 rows, re-run)": 2.0,
}


if __name__ == "__main__":
    print(json.dumps(measure()))
