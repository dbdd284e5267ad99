"""The scorers of the JOQ coder: how strongly each answer matches each code, on 0..1.

Why a chain: each scorer is cheap to read and to swap. Phrases carry the frame author's explicit
rules (an exclude phrase vetoes); similarity to exemplars and the definition works from the first
month with no training; a few-shot classifier joins once people have coded some answers. Long
answers are also scored sentence by sentence (``segment_*``). ``score`` blends them; what is done
with the scores (accept, fall back, send to the "other" queue) is ``pipeline.joq.decide``.

The few-shot classifier is one logistic regression per code, fitted by
``sklearn.multiclass.OneVsRestClassifier`` on the codes that have both a positive and a negative
example (the others stay nan, "no classifier", rather than OvR's constant predictor); sample
weights reach each fit through sklearn's metadata routing, switched on for that fit only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from pipeline.joq.frames import OTHER, Frame, Thresholds

if TYPE_CHECKING:  # scikit-learn is imported when a classifier is fitted, not at start-up
    from sklearn.multiclass import OneVsRestClassifier


@dataclass
class CodeInputs:
    """Everything the scorers need, already embedded; rows of ``emb`` align with ``ids``."""

    ids: list[str]
    texts: list[str]
    emb: np.ndarray
    codes: list[str]  # frame code ids, without 'other'
    definition_emb: np.ndarray  # one row per code
    exemplar_emb: list[np.ndarray]  # per code, rows = exemplars (may be empty)
    exemplar_ids: list[list[str]]
    include: list[list[str]]
    exclude: list[list[str]]
    training: Mapping[str, frozenset[str]] = field(default_factory=dict)  # id -> human codes
    no_pseudo: frozenset[str] = frozenset()  # ids never used as weak labels (CV held-out)
    seg_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # row in ids
    seg_emb: np.ndarray | None = None  # one row per sentence of a multi-sentence answer
    # earlier months' human-coded answers, their codes mapped to this frame through the taxonomy
    # theme (``history_weight``): training rows only, never scored
    history_emb: np.ndarray | None = None
    history: list[frozenset[str]] = field(default_factory=list)


@dataclass
class Scores:
    phrase: np.ndarray  # n x C, phrase_score where an include phrase hit, else 0
    veto: np.ndarray  # n x C bool, an exclude phrase hit
    similarity: np.ndarray  # n x C, 0..1
    fewshot: np.ndarray  # n x C, 0..1 or nan where no classifier
    combined: np.ndarray  # n x C


SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+|\s+-\s+")


def sentences(text: str, min_words: int = 3) -> list[str]:
    """Split an answer into sentences of at least ``min_words`` words; [] when there is only
    one (the whole answer already covers it). Answers often raise several themes, one per
    sentence, and a sentence matches its code more clearly than the whole answer does."""
    parts = [p.strip() for p in SENTENCE_END.split(text) if len(p.split()) >= min_words]
    return parts if len(parts) > 1 else []


def segment_table(texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Owner row and text of every sentence of every multi-sentence answer."""
    owner, segs = [], []
    for i, t in enumerate(texts):
        for p in sentences(t):
            owner.append(i)
            segs.append(p)
    return np.array(owner, int), segs


def max_over_segments(
    whole: np.ndarray, seg: np.ndarray, owner: np.ndarray, weight: float
) -> np.ndarray:
    """Per answer and code, the larger of its whole-answer score and ``weight`` x its best
    sentence score (nan stays nan)."""
    out = whole.copy()
    if seg.size and weight > 0:
        np.fmax.at(out, owner, weight * seg)
    return out


def phrase_scores(
    texts: Sequence[str],
    include: Sequence[Sequence[str]],
    exclude: Sequence[Sequence[str]],
    phrase_score: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower-cased substring matches: include hits score ``phrase_score``; exclude hits veto."""
    low = pl.Series([t.lower() for t in texts], dtype=pl.String)

    def hits(phrases: Sequence[Sequence[str]]) -> np.ndarray:
        cols = [
            low.str.contains_any(list(p)).to_numpy() if p else np.zeros(len(low), bool)
            for p in phrases
        ]
        return np.column_stack(cols).astype(bool) if cols else np.zeros((len(low), 0), bool)

    return hits(include).astype(float) * phrase_score, hits(exclude)


def similarity_scores(inp: CodeInputs, th: Thresholds) -> np.ndarray:
    """Max cosine to the code's exemplars (an answer never counts as its own exemplar), blended
    with cosine to the code's label + definition, mapped linearly from [floor, ceiling] to
    [0, 1]."""
    defs = inp.emb @ inp.definition_emb.T
    cols = []
    for j, ex in enumerate(inp.exemplar_emb):
        if ex.shape[0] == 0:
            cols.append(defs[:, j])
            continue
        sims = inp.emb @ ex.T
        self_hit = np.array(inp.ids)[:, None] == np.array(inp.exemplar_ids[j])[None, :]
        sims = np.where(self_hit, -1.0, sims)
        best = sims.max(axis=1)
        raw = th.exemplar_weight * best + (1 - th.exemplar_weight) * defs[:, j]
        cols.append(np.where(self_hit.all(axis=1), defs[:, j], raw))
    raw = np.column_stack(cols) if cols else np.zeros((len(inp.ids), 0))
    span = max(th.sim_ceiling - th.sim_floor, 1e-6)
    return np.clip((raw - th.sim_floor) / span, 0.0, 1.0)


def segment_inputs(inp: CodeInputs) -> CodeInputs | None:
    """The inputs with one row per sentence (ids repeated) for the similarity scorer."""
    if inp.seg_emb is None or not len(inp.seg_owner):
        return None
    ids = [inp.ids[k] for k in inp.seg_owner]
    return replace(inp, ids=ids, texts=["" for _ in ids], emb=inp.seg_emb)


def pseudo_labels(inp: CodeInputs, hits: np.ndarray, veto: np.ndarray) -> dict[str, frozenset[str]]:
    """Weak labels for answers nobody has coded: the codes whose include phrase fired (not
    vetoed). Only answers with at least one hit are used; the rest say nothing either way."""
    hits = hits & ~veto
    return {
        rid: frozenset(inp.codes[j] for j in np.flatnonzero(hits[i]))
        for i, rid in enumerate(inp.ids)
        if rid not in inp.training and rid not in inp.no_pseudo and hits[i].any()
    }


def phrase_trust(inp: CodeInputs, hits: np.ndarray, veto: np.ndarray, prior: float) -> np.ndarray:
    """Per code, how often its include phrases agree with the people: among human-coded answers
    a phrase of the code hit, the share that carry the code, smoothed by ``prior`` virtual
    agreeing hits (no human-coded hit yet: 1). Why: phrases drafted from code names alone fire on
    many answers the coders put elsewhere ("care" in "caring staff"); their weak labels should
    count as much as the people's codes say they deserve, and no more."""
    fired = hits & ~veto
    coded = np.array([rid in inp.training for rid in inp.ids], bool)
    agree = np.array(
        [[c in inp.training.get(rid, ()) for c in inp.codes] for rid in inp.ids], bool
    ).reshape(len(inp.ids), len(inp.codes))
    n = fired[coded].sum(axis=0)
    ok = (fired & agree)[coded].sum(axis=0)
    return (ok + prior) / (n + prior) if prior > 0 else np.where(n > 0, ok / np.maximum(n, 1), 1.0)


def features(emb: np.ndarray, sim: np.ndarray, th: Thresholds) -> np.ndarray:
    """Classifier input: the embedding, plus (when ``proto_weight`` > 0) the similarity of the
    text to every code's exemplars and definition, a compact "prototype" view that carries the
    frame's own description of each code into the classifier."""
    return np.hstack([emb, th.proto_weight * sim]) if th.proto_weight > 0 else emb


def history_features(inp: CodeInputs, th: Thresholds) -> np.ndarray | None:
    """Classifier features of the earlier months' answers (None when there are none or
    ``history_weight`` is 0): the same view of the text as this month's answers get."""
    if th.history_weight <= 0 or inp.history_emb is None or not len(inp.history):
        return None
    if th.proto_weight <= 0:
        return inp.history_emb
    ids = [f"history:{k}" for k in range(len(inp.history))]  # never a frame exemplar's id
    sim = similarity_scores(replace(inp, ids=ids, emb=inp.history_emb), th)
    return features(inp.history_emb, sim, th)


def _positive_proba(ovr: OneVsRestClassifier, x: np.ndarray) -> np.ndarray:
    """P(code) per row and fitted code (a single code is a binary problem: one column)."""
    p = ovr.predict_proba(x)
    return p if ovr.multilabel_ else p[:, 1:]


def fewshot_scores(
    inp: CodeInputs,
    th: Thresholds,
    seed: int,
    pseudo: Mapping[str, frozenset[str]] | None = None,
    x_all: np.ndarray | None = None,
    x_seg: np.ndarray | None = None,
    x_history: np.ndarray | None = None,
    weak_w: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest logistic regression per code on features of human-coded answers (weight 1),
    earlier months' human-coded answers (weight ``history_weight``) and phrase-labelled answers
    (weight ``pseudo_weight``, weak supervision); nan for codes with no positive or no negative
    example, or before ``min_training`` human-coded answers (this month's and earlier months')
    exist. Returns probabilities for the answers and for their sentences (``x_seg``)."""
    x_all = inp.emb if x_all is None else x_all
    n_seg = 0 if x_seg is None else x_seg.shape[0]
    out = np.full((len(inp.ids), len(inp.codes)), np.nan)
    out_seg = np.full((n_seg, len(inp.codes)), np.nan)
    train_ids = [i for i in inp.ids if i in inp.training]
    hist = inp.history if th.history_weight > 0 and x_history is not None else []
    if len(train_ids) + len(hist) < th.min_training:
        return out, out_seg
    weak = [i for i in inp.ids if i in (pseudo or {})] if th.pseudo_weight > 0 else []
    weak_w = weak_w or {}
    labels = {**{i: (pseudo or {})[i] for i in weak}, **{i: inp.training[i] for i in train_ids}}
    rows = train_ids + weak
    pos = {rid: k for k, rid in enumerate(inp.ids)}
    x = x_all[[pos[i] for i in rows]]
    w = np.array([1.0] * len(train_ids) + [th.pseudo_weight * weak_w.get(i, 1.0) for i in weak])
    y = np.array([[code in labels[i] for code in inp.codes] for i in rows], dtype=int)
    y = y.reshape(len(rows), len(inp.codes))  # no row of this month: earlier months alone train
    if hist:
        x = np.vstack([x, x_history])
        y = np.vstack([y, np.array([[c in h for c in inp.codes] for h in hist], dtype=int)])
        w = np.concatenate([w, np.full(len(hist), th.history_weight)])
    if th.definition_weight > 0 and x_all.shape[1] == inp.definition_emb.shape[1]:
        # label-definition augmentation: each code's "label. definition" is one more
        # positive example of that code (and a negative of the others)
        x = np.vstack([x, inp.definition_emb])
        y = np.vstack([y, np.eye(len(inp.codes), dtype=int)])
        w = np.concatenate([w, np.full(len(inp.codes), th.definition_weight)])
    fitted = np.flatnonzero((y.sum(axis=0) >= 1) & ((1 - y).sum(axis=0) >= 1))
    if not len(fitted):
        return out, out_seg
    import sklearn  # deferred: start-up time of commands that never score
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    clf = LogisticRegression(
        C=th.fewshot_c, class_weight="balanced", random_state=seed, max_iter=2000
    )
    with sklearn.config_context(enable_metadata_routing=True):
        ovr = OneVsRestClassifier(clf.set_fit_request(sample_weight=True))
        ovr.fit(x, y[:, fitted], sample_weight=w)
    out[:, fitted] = _positive_proba(ovr, x_all)
    if n_seg:
        out_seg[:, fitted] = _positive_proba(ovr, x_seg)
    return out, out_seg


def score(inp: CodeInputs, th: Thresholds, seed: int) -> Scores:
    hits, veto = phrase_scores(inp.texts, inp.include, inp.exclude, 1.0)
    phrase = hits * th.phrase_score
    sim = similarity_scores(inp, th)
    seg = segment_inputs(inp) if th.sentence_weight > 0 else None
    sim_seg = similarity_scores(seg, th) if seg is not None else np.zeros((0, sim.shape[1]))
    pseudo = pseudo_labels(inp, hits > 0, veto)
    weak_w = {}
    if th.phrase_trust_prior > 0 and pseudo:
        trust = phrase_trust(inp, hits > 0, veto, th.phrase_trust_prior)
        trust = dict(zip(inp.codes, trust, strict=True))
        weak_w = {r: min(trust[c] for c in cs) for r, cs in pseudo.items()}
    few, few_seg = fewshot_scores(
        inp,
        th,
        seed,
        pseudo,
        features(inp.emb, sim, th),
        features(seg.emb, sim_seg, th) if seg is not None else None,
        history_features(inp, th),
        weak_w,
    )
    owner = inp.seg_owner if seg is not None else np.zeros(0, int)
    sim = max_over_segments(sim, sim_seg, owner, th.sentence_weight)
    few = max_over_segments(few, few_seg, owner, th.sentence_weight)
    blend = np.where(
        np.isnan(few), sim, th.fewshot_weight * np.nan_to_num(few) + (1 - th.fewshot_weight) * sim
    )
    combined = np.where(veto, 0.0, np.maximum(phrase, blend))
    return Scores(phrase, veto, sim, few, combined)


def code_inputs(
    frame: Frame,
    ids: list[str],
    texts: list[str],
    emb: np.ndarray,
    embed: callable,
    training: Mapping[str, frozenset[str]],
    th: Thresholds | None = None,
) -> CodeInputs:  # type: ignore[valid-type]
    """Assemble scorer inputs from a frame; ``embed`` maps texts to vectors (cached). Only what a
    scorer in use needs is embedded: sentence segments only when ``sentence_weight`` > 0 (``th``,
    else the frame's thresholds)."""
    th = th or frame.thresholds
    codes = [c for c in frame.codes if c.id != OTHER]
    defs = embed([f"{c.label}. {c.definition}" for c in codes]) if codes else np.zeros((0, 1))
    ex = [
        embed([e.text for e in c.exemplars]) if c.exemplars else np.zeros((0, emb.shape[1]))
        for c in codes
    ]
    owner, segs = segment_table(texts) if th.sentence_weight > 0 else (np.zeros(0, int), [])
    seg_emb = embed(segs) if segs else None
    return CodeInputs(
        ids,
        texts,
        emb,
        [c.id for c in codes],
        defs,
        ex,
        [[e.response_id for e in c.exemplars] for c in codes],
        [c.include for c in codes],
        [c.exclude for c in codes],
        training,
        seg_owner=owner,
        seg_emb=seg_emb,
    )
