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
from pipeline.joq import code as coder
from pipeline.joq.frames import OTHER, Thresholds

GRID: dict[str, Sequence[float]] = {
    "accept": (0.5, 0.55, 0.6, 0.65, 0.7),
    "fewshot_weight": (0.6, 0.8, 1.0),
    "fallback": (0.2, 0.3, 0.4),
}


def _folds(ids: Sequence[str], k: int, seed: int) -> list[list[int]]:
    order = np.random.default_rng(seed).permutation(len(ids))
    return [sorted(order[i::k].tolist()) for i in range(k)]


def cross_validate(inp: coder.CodeInputs, base: Thresholds, seed: int, k: int = 5,
                   grid: Mapping[str, Sequence[float]] = GRID) -> pl.DataFrame:
    """Mean held-out macro-F1 per grid point; rows sorted best first."""
    train_ids = [i for i in inp.ids if i in inp.training]
    pos = {r: j for j, r in enumerate(inp.ids)}
    codes = [*inp.codes, OTHER]
    gold = pl.DataFrame([(r, c) for r in train_ids for c in inp.training[r]],
                        schema=["response_id", "code_id"], orient="row")
    keys = list(grid)
    points = list(itertools.product(*(grid[k_] for k_ in keys)))
    scores = np.zeros(len(points))
    folds = _folds(train_ids, min(k, len(train_ids)), seed)
    for fold in folds:
        held = [train_ids[j] for j in fold]
        # held-out answers leave the training set and are not used as weak labels either: the
        # frame's phrases were written from these answers, so their own hits would leak
        sub = replace(inp, training={r: v for r, v in inp.training.items() if r not in held},
                      no_pseudo=frozenset(held))
        rows = [pos[r] for r in held]
        for fw in sorted({p[keys.index("fewshot_weight")] for p in points}
                         if "fewshot_weight" in keys else {base.fewshot_weight}):
            th_fw = base.model_copy(update={"fewshot_weight": fw})
            s = coder.score(sub, th_fw, seed)
            held_s = coder.Scores(*(getattr(s, f)[rows] for f in
                                    ("phrase", "veto", "similarity", "fewshot", "combined")))
            for n, p in enumerate(points):
                params = dict(zip(keys, p, strict=True))
                if params.get("fewshot_weight", fw) != fw:
                    continue
                th = base.model_copy(update=params)
                machine = coder.decide(held_s, inp.codes, held, th)
                m = agr.measures(agr.binary_matrix(gold, held, codes),
                                 agr.binary_matrix(machine, held, codes))
                scores[n] += float(np.nan_to_num(m["macro_f1"])) / len(folds)
    out = pl.DataFrame([dict(zip(keys, p, strict=True)) | {"cv_macro_f1": sc}
                        for p, sc in zip(points, scores, strict=True)])
    return out.sort(["cv_macro_f1", *keys], descending=[True] + [False] * len(keys))
