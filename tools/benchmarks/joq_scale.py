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
import sys
import tempfile
from pathlib import Path

from tools.benchmarks.commands import measured
from tools.benchmarks.data_gen import DATA, JOQ_REF, SEED, joq_texts

MONTH = "2025-01"


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
    m = measured(args)
    return {"s": round(m["s"], 2), "cpu_s": round(m["cpu_s"], 2), "peak_mb": m["peak_mb"]}


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
