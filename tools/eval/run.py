"""`make eval-real`: joinedup and the baselines on real human-coded text -> docs/coding-quality.md.

    python -m tools.eval.run [--data CSV] [--out docs/coding-quality.md] [--months N]

``EVAL_MONTHS=1`` (or ``--months 1``) is the quick smoke run. Without the data file it prints why
and exits 0: the harness is optional, the data is not in the repository. Embeddings are cached in
``reports/out/eval_real/embeddings.duckdb`` (git-ignored), so a re-run embeds nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipeline.core.embed import Embedder, EmbeddingCache, SentenceTransformerEmbedder
from pipeline.core.errors import JoinedupError
from tools.eval import harness, methods, months, report

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "external" / "coded" / "nhs_patient_feedback_phase1.csv"
OUT = ROOT / "docs" / "coding-quality.md"
CACHE = ROOT / "reports" / "out" / "eval_real" / "embeddings.duckdb"
SEED = 20250131
EVAL_SIZE = 100

METHODS: dict[str, tuple[str, methods.Method, bool]] = {
    "joinedup": (
        "the project's coder, default settings, frame with phrases",
        methods.joinedup(),
        True,
    ),
    "joinedup, no phrases": (
        "the same coder and frame with every include phrase removed (no phrase hits, no "
        "phrase weak labels): the model's own contribution",
        methods.joinedup(),
        False,
    ),
    "phrases only": (
        "the frame's include phrases alone; no hit: other",
        methods.phrases_only(),
        True,
    ),
    "logistic regression": (
        "one-vs-rest logistic regression (C=1, class-balanced) on the MiniLM embeddings of the "
        "human-coded "
        "answers; codes with p >= 0.5, else the most probable",
        methods.logistic_baseline(),
        False,
    ),
    "zero-shot cosine": (
        'nearest code by cosine of the answer to "label. definition" (no training)',
        methods.zero_shot(),
        False,
    ),
}


class Memo:
    """The DuckDB cache behind an in-process dict: the harness re-codes each month many times."""

    def __init__(self, cache: EmbeddingCache, embedder: Embedder) -> None:
        self.cache, self.embedder, self.seen = cache, embedder, {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.seen))
        if missing:
            self.seen.update(zip(missing, self.cache.embed(missing, self.embedder), strict=True))
        return np.vstack([self.seen[t] for t in texts]) if texts else np.zeros((0, 1))


def run(
    all_months: Sequence[months.Month],
    embed: methods.Embed,
    chosen: Mapping[str, tuple[str, methods.Method, bool]] = METHODS,
    eval_size: int = EVAL_SIZE,
    seed: int = SEED,
    sizes: Sequence[int] = harness.TRAIN_SIZES,
    rounds: int = 4,
) -> dict[str, pl.DataFrame]:
    """Every month through the training curve and the review loop; tables for the report."""
    curve, loop, month_rows = [], [], []
    for m in all_months:
        sp = harness.split(m, eval_size, seed)
        curve += harness.training_curve(
            m, {k: (v[1], v[2]) for k, v in chosen.items()}, embed, sp, seed, sizes
        )
        loop += harness.review_loop(
            m,
            methods.joinedup(),
            {"review order": harness.least_confident, "random": None},
            embed,
            sp,
            seed,
            start=sizes[0],
            rounds=rounds,
        )
        month_rows.append(
            {
                "month": m.name,
                "answers": len(m.ids),
                "codes": len(m.codes),
                "eval answers": len(sp.eval_ids),
                "pool": len(sp.pool),
                "multi-code answers": sum(len(g) > 1 for g in m.gold.values()),
            }
        )
    return {
        "months": pl.DataFrame(month_rows),
        "curve": harness.pooled(curve),
        "loop": harness.pooled(loop),
        "per_month": harness.per_month(curve),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--months", type=int, default=int(os.environ.get("EVAL_MONTHS", "5")))
    a = ap.parse_args(argv)
    if not a.data.is_file():
        print(
            f"eval-real skipped: the coded data is not at {a.data} "
            "(it lives in ../shared/external/coded/ and is never copied into the repository)"
        )
        return 0
    t0 = time.perf_counter()
    try:
        chosen = months.build_months(months.load_coded(a.data), seed=SEED)[: a.months]
    except JoinedupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    a.cache.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(a.cache))
    embed = Memo(EmbeddingCache(con), SentenceTransformerEmbedder())
    tables = run(chosen, embed)
    con.close()
    command = "python -m tools.eval.run" + (f" --months {a.months}" if a.months != 5 else "")
    notes = [f"Whole run: {time.perf_counter() - t0:.0f} s on this machine (embeddings cached)."]
    page = report.render(
        command,
        tables["months"],
        tables["curve"],
        tables["loop"],
        tables["per_month"],
        {k: v[0] for k, v in METHODS.items()},
        notes,
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(page, encoding="utf-8")
    (a.cache.parent / "results.json").write_text(
        json.dumps({k: v.to_dicts() for k, v in tables.items()}, indent=1), encoding="utf-8"
    )
    print(f"wrote {a.out} ({len(chosen)} months, {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
