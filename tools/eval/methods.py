"""The coders the harness compares, each behind one signature: (month inputs, training) -> codes.

Why one signature: every method sees the same month, the same human-coded answers and the same
cached embeddings, so a difference in agreement is the method's, not the set-up's. joinedup runs
through its own library functions (``pipeline.joq.code``), never a copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from pipeline.joq import decide, scorers
from pipeline.joq.frames import OTHER, Frame, Thresholds

Embed = Callable[[list[str]], np.ndarray]
LONG = {"response_id": pl.String, "code_id": pl.String, "score": pl.Float64}


@dataclass
class MonthInputs:
    """A month ready for coding: ids align with texts and the rows of ``emb``."""

    ids: list[str]
    texts: list[str]
    emb: np.ndarray
    frame: Frame
    embed: Embed
    seed: int
    # earlier months' human-coded answers (texts, codes under this frame): what `joq code` learns
    # from at ``history_weight``; empty when the method runs without them
    history: tuple[list[str], list[frozenset[str]]] = ([], [])

    @property
    def codes(self) -> list[str]:
        return [c.id for c in self.frame.codes if c.id != OTHER]


@dataclass
class Coded:
    """Machine codes for every answer of the month (long: response_id, code_id, score)."""

    machine: pl.DataFrame
    seconds: float


Method = Callable[[MonthInputs, Mapping[str, frozenset[str]]], Coded]


def _long(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LONG, orient="row")


def joinedup(overrides: Mapping[str, object] | None = None) -> Method:
    """The project's coder with the frame's thresholds (plus ``overrides``)."""

    def run(m: MonthInputs, training: Mapping[str, frozenset[str]]) -> Coded:
        t0 = time.perf_counter()
        th = Thresholds.model_validate({**m.frame.thresholds.model_dump(), **(overrides or {})})
        inp = scorers.code_inputs(m.frame, m.ids, m.texts, m.emb, m.embed, dict(training), th)
        if th.history_weight > 0 and m.history[0]:
            inp.history_emb, inp.history = m.embed(m.history[0]), m.history[1]
        machine = decide.decide(scorers.score(inp, th, m.seed), inp.codes, m.ids, th)
        return Coded(machine.select(*LONG), time.perf_counter() - t0)

    return run


def _top_or_threshold(
    ids: list[str], codes: list[str], p: np.ndarray, cut: float | None
) -> pl.DataFrame:
    """Codes with probability >= ``cut``; when none (or ``cut`` is None), the single best."""
    rows = []
    for i, rid in enumerate(ids):
        chosen = [] if cut is None else [j for j in np.flatnonzero(p[i] >= cut)]
        if not chosen:
            chosen = [int(np.argmax(p[i]))]
        rows += [(rid, codes[j], float(p[i, j])) for j in chosen]
    return _long(rows)


def logistic_baseline(c: float = 1.0, history: bool = False) -> Method:
    """One-vs-rest logistic regression on the embeddings of the human-coded answers (and, with
    ``history``, of the earlier months' human-coded answers, weight 1)."""

    def run(m: MonthInputs, training: Mapping[str, frozenset[str]]) -> Coded:
        t0 = time.perf_counter()
        pos = {r: k for k, r in enumerate(m.ids)}
        rows = [pos[r] for r in training]
        labels = [training[r] for r in training]
        x = m.emb[rows]
        if history and m.history[0]:
            x = np.vstack([x, m.embed(m.history[0])])
            labels += m.history[1]
        p = np.zeros((len(m.ids), len(m.codes)))
        for j, code in enumerate(m.codes):
            y = np.array([code in lab for lab in labels])
            if y.all() or not y.any():
                p[:, j] = float(y.all())
                continue
            clf = LogisticRegression(
                C=c, class_weight="balanced", max_iter=2000, random_state=m.seed
            ).fit(x, y)
            p[:, j] = clf.predict_proba(m.emb)[:, 1]
        return Coded(_top_or_threshold(m.ids, m.codes, p, 0.5), time.perf_counter() - t0)

    return run


def zero_shot() -> Method:
    """Cosine of each answer to "label. definition"; the nearest code (no training used)."""

    def run(m: MonthInputs, training: Mapping[str, frozenset[str]]) -> Coded:
        t0 = time.perf_counter()
        codes = [c for c in m.frame.codes if c.id != OTHER]
        defs = m.embed([f"{c.label}. {c.definition}" for c in codes])
        return Coded(
            _top_or_threshold(m.ids, m.codes, m.emb @ defs.T, None), time.perf_counter() - t0
        )

    return run


def phrases_only() -> Method:
    """The frame's include phrases alone (an exclude phrase vetoes); no phrase hit: 'other'."""

    def run(m: MonthInputs, training: Mapping[str, frozenset[str]]) -> Coded:
        t0 = time.perf_counter()
        codes = [c for c in m.frame.codes if c.id != OTHER]
        hits, veto = scorers.phrase_scores(
            m.texts, [c.include for c in codes], [c.exclude for c in codes], 1.0
        )
        hits = (hits > 0) & ~veto
        rows = [
            (rid, m.codes[j], 1.0) for i, rid in enumerate(m.ids) for j in np.flatnonzero(hits[i])
        ]
        rows += [(rid, OTHER, 0.0) for i, rid in enumerate(m.ids) if not hits[i].any()]
        return Coded(_long(rows), time.perf_counter() - t0)

    return run
