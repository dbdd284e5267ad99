"""A JOQ month far larger than any real one, through the whole CLI: import, code (cold and warm),
re-run with the stored result, re-scored with every embedding cached), report, review.

``python -m tools.benchmarks.joq_scale N`` writes an N-answer export shaped like the reference
month 2025-01 (its sectors, roles and regions resampled, seeded; answers from
``data_gen.joq_texts``, distinct so the embedding cache cannot shortcut them), then runs each
command in a fresh process against a scratch database with the reference 2025-01 frame, and prints
JSON: wall and CPU seconds and peak memory (max RSS) per command, answers embedded per second in
the cold `joq code` (everything else included), and the warm re-run (nothing changed: the stored
result) and the re-scoring (every embedding cached) as shares of the cold one.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.benchmarks.data_gen import DATA, JOQ_REF, SEED, joq_texts

ROOT = Path(__file__).resolve().parents[2]
MONTH = "2025-01"

# Runs the CLI in a child and reports its own peak RSS (a child's children are not counted).
CALL = (
    "import resource, sys; from cli import app\n"
    "try:\n    rc = app(sys.argv[1:], standalone_mode=False)\n"
    "finally:\n"
    "    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(rc if isinstance(rc, int) else 0)\n"
)


def joq_export(n: int) -> Path:
    """The reference month's rows resampled to ``n`` (seeded), each with a distinct answer."""
    path = DATA / f"joq_{n}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    with JOQ_REF.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    rng = random.Random(SEED + 7 * n)
    texts = joq_texts(n)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        for i, text in enumerate(texts):
            row = dict(rng.choice(rows))
            row["Response ID"] = f"BENCH-{i + 1:06d}"
            row["Answer"] = text
            w.writerow(row)
    tmp.replace(path)
    return path


def timed(args: list[str]) -> dict[str, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.setdefault("JOINEDUP_PSEUDONYM_KEY", "bench-key-0123456789abcdef0123")
    before = os.times()
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CALL, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    after = os.times()
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    peak_kb = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_KB")
    )
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return {"s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_mb": round(peak_kb / 1024)}


def forget_stored_result(db: Path) -> None:
    """What a changed decision or frame does to the next `joq code`: score again, every
    embedding still cached."""
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM joq_code_cache")


def measure(n: int) -> dict:
    export = joq_export(n)
    tmp = Path(tempfile.mkdtemp(prefix="joinedup-joqscale-"))
    where = ["--db", str(tmp / "joq.duckdb"), "--out", str(tmp / "out")]
    out: dict = {"n": n, "load_start": [round(x, 1) for x in os.getloadavg()]}
    out["import"] = timed(["joq", "import", str(export), "--month", MONTH, *where[:2]])
    out["code (cold)"] = timed(["joq", "code", MONTH, *where])
    out["code (warm)"] = timed(["joq", "code", MONTH, *where])  # the stored result, reused
    forget_stored_result(tmp / "joq.duckdb")
    out["code (rescore)"] = timed(["joq", "code", MONTH, *where])  # embeddings cached, scored
    out["report"] = timed(["joq", "report", MONTH, *where])
    out["review"] = timed(["joq", "review", MONTH, *where])
    out["answers_per_s_cold"] = round(n / out["code (cold)"]["s"], 1)
    out["warm_over_cold"] = round(out["code (warm)"]["s"] / out["code (cold)"]["s"], 4)
    out["rescore_over_cold"] = round(out["code (rescore)"]["s"] / out["code (cold)"]["s"], 4)
    out["load_end"] = [round(x, 1) for x in os.getloadavg()]
    return out


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
