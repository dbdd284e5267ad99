"""Choose coder thresholds by cross-validation on human-coded answers only.

Why: thresholds chosen by looking at the answers you then measure on overstate agreement. Here the
human-coded answers (the discovery sample plus exemplars, or review decisions) are split into
folds; for each fold the few-shot classifier is trained on the other folds, the held-out answers
are scored by the whole chain, and each grid point's macro-F1 (codes with any gold or machine
answer) is averaged over folds. Eval answers are never seen.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from pipeline.joq import agreement as agr
from pipeline.joq import decide, scorers
from pipeline.joq.frames import OTHER, Thresholds

GRID: dict[str, Sequence[float]] = {
    "accept": (0.5, 0.55, 0.6, 0.65, 0.7),
    "fewshot_weight": (0.6, 0.8, 1.0),
    "fallback": (0.3, 0.4),
    "fewshot_c": (1.0, 3.0, 10.0),
    "pseudo_weight": (0.5, 1.0),
}


def _folds(ids: Sequence[str], k: int, seed: int) -> list[list[int]]:
    order = np.random.default_rng(seed).permutation(len(ids))
    return [sorted(order[i::k].tolist()) for i in range(k)]


DECISION_KEYS = ("accept", "fallback", "relative", "max_codes")  # need no re-scoring


def _pooled_scores(
    inp: scorers.CodeInputs, th: Thresholds, seed: int, folds: list[list[str]]
) -> tuple[list[str], scorers.Scores]:
    """Held-out scores of every fold, stacked: each fold's answers are scored by a chain trained
    without them (and without their weak labels: the phrases were written from these answers,
    so their own hits would leak)."""
    pos = {r: j for j, r in enumerate(inp.ids)}
    held_all, parts = [], []
    for held in folds:
        sub = replace(
            inp,
            training={r: v for r, v in inp.training.items() if r not in held},
            no_pseudo=frozenset(held),
        )
        s = scorers.score(sub, th, seed)
        rows = [pos[r] for r in held]
        parts.append([getattr(s, f)[rows] for f in SCORE_FIELDS])
        held_all += held
    return held_all, scorers.Scores(
        *(np.vstack([p[k] for p in parts]) for k in range(len(SCORE_FIELDS)))
    )


SCORE_FIELDS = ("phrase", "veto", "similarity", "fewshot", "combined")


def cross_validate(
    inp: scorers.CodeInputs,
    base: Thresholds,
    seed: int,
    k: int = 5,
    grid: Mapping[str, Sequence[float]] = GRID,
) -> pl.DataFrame:
    """Held-out macro-F1 per grid point, pooled over folds (every human-coded answer predicted
    once, then one macro-F1: steadier than averaging 6-answer folds); rows sorted best first."""
    train_ids = [i for i in inp.ids if i in inp.training]
    codes = [*inp.codes, OTHER]
    gold = pl.DataFrame(
        [(r, c) for r in train_ids for c in inp.training[r]],
        schema=["response_id", "code_id"],
        orient="row",
    )
    folds = [[train_ids[j] for j in f] for f in _folds(train_ids, min(k, len(train_ids)), seed)]
    keys = list(grid)
    model_keys = [k_ for k_ in keys if k_ not in DECISION_KEYS]
    rows = []
    for mp in itertools.product(*(grid[k_] for k_ in model_keys)):
        th_m = base.model_copy(update=dict(zip(model_keys, mp, strict=True)))
        held, s = _pooled_scores(inp, th_m, seed, folds)
        truth = agr.binary_matrix(gold, held, codes)
        dec_keys = [k_ for k_ in keys if k_ in DECISION_KEYS]
        for dp in itertools.product(*(grid[k_] for k_ in dec_keys)):
            params = dict(zip(model_keys, mp, strict=True)) | dict(zip(dec_keys, dp, strict=True))
            machine = decide.decide(s, inp.codes, held, th_m.model_copy(update=params))
            m = agr.measures(truth, agr.binary_matrix(machine, held, codes))
            rows.append(
                {k_: params[k_] for k_ in keys}
                | {
                    "cv_macro_f1": float(np.nan_to_num(m["macro_f1"])),
                    "cv_mean_kappa": float(np.nan_to_num(m["mean_kappa"])),
                }
            )
    out = pl.DataFrame(rows)
    return out.sort(["cv_macro_f1", *keys], descending=[True] + [False] * len(keys))
