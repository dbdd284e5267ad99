"""Apply a coding frame: a chain of small scorers, one decision rule, and a queue for the rest.

Why a chain: each scorer is cheap to read and to swap. Phrases carry the frame author's explicit
rules (an exclude phrase vetoes); similarity to exemplars and the definition works from the first
month with no training; a few-shot classifier joins once people have coded some answers. Scores are
on 0..1 so one threshold (``accept``) decides, with a cap on codes per answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from pipeline.joq import groups as grp
from pipeline.joq.frames import OTHER, Frame, Thresholds


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


def features(emb: np.ndarray, sim: np.ndarray, th: Thresholds) -> np.ndarray:
    """Classifier input: the embedding, plus (when ``proto_weight`` > 0) the similarity of the
    text to every code's exemplars and definition, a compact "prototype" view that carries the
    frame's own description of each code into the classifier."""
    return np.hstack([emb, th.proto_weight * sim]) if th.proto_weight > 0 else emb


def fewshot_scores(
    inp: CodeInputs,
    th: Thresholds,
    seed: int,
    pseudo: Mapping[str, frozenset[str]] | None = None,
    x_all: np.ndarray | None = None,
    x_seg: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest logistic regression per code on features of human-coded answers (weight 1)
    plus phrase-labelled answers (weight ``pseudo_weight``, weak supervision); nan for codes with
    no positive or no negative example, or before ``min_training`` human-coded answers exist.
    Returns probabilities for the answers and for their sentences (``x_seg``)."""
    x_all = inp.emb if x_all is None else x_all
    n_seg = 0 if x_seg is None else x_seg.shape[0]
    out = np.full((len(inp.ids), len(inp.codes)), np.nan)
    out_seg = np.full((n_seg, len(inp.codes)), np.nan)
    train_ids = [i for i in inp.ids if i in inp.training]
    if len(train_ids) < th.min_training:
        return out, out_seg
    weak = [i for i in inp.ids if i in (pseudo or {})] if th.pseudo_weight > 0 else []
    labels = {**{i: (pseudo or {})[i] for i in weak}, **{i: inp.training[i] for i in train_ids}}
    rows = train_ids + weak
    pos = {rid: k for k, rid in enumerate(inp.ids)}
    x = x_all[[pos[i] for i in rows]]
    w = np.array([1.0] * len(train_ids) + [th.pseudo_weight] * len(weak))
    for j, code in enumerate(inp.codes):
        y = np.array([code in labels[i] for i in rows])
        if y.sum() < 1 or (~y).sum() < 1:
            continue
        clf = LogisticRegression(
            C=th.fewshot_c, class_weight="balanced", random_state=seed, max_iter=2000
        )
        clf.fit(x, y, sample_weight=w)
        out[:, j] = clf.predict_proba(x_all)[:, 1]
        if n_seg:
            out_seg[:, j] = clf.predict_proba(x_seg)[:, 1]
    return out, out_seg


def score(inp: CodeInputs, th: Thresholds, seed: int) -> Scores:
    hits, veto = phrase_scores(inp.texts, inp.include, inp.exclude, 1.0)
    phrase = hits * th.phrase_score
    sim = similarity_scores(inp, th)
    seg = segment_inputs(inp) if th.sentence_weight > 0 else None
    sim_seg = similarity_scores(seg, th) if seg is not None else np.zeros((0, sim.shape[1]))
    few, few_seg = fewshot_scores(
        inp,
        th,
        seed,
        pseudo_labels(inp, hits > 0, veto),
        features(inp.emb, sim, th),
        features(seg.emb, sim_seg, th) if seg is not None else None,
    )
    owner = inp.seg_owner if seg is not None else np.zeros(0, int)
    sim = max_over_segments(sim, sim_seg, owner, th.sentence_weight)
    few = max_over_segments(few, few_seg, owner, th.sentence_weight)
    blend = np.where(
        np.isnan(few), sim, th.fewshot_weight * np.nan_to_num(few) + (1 - th.fewshot_weight) * sim
    )
    combined = np.where(veto, 0.0, np.maximum(phrase, blend))
    return Scores(phrase, veto, sim, few, combined)


def _method(s: Scores, i: int, j: int) -> str:
    if s.phrase[i, j] > 0 and s.phrase[i, j] >= s.combined[i, j]:
        return "phrase"
    return "similarity" if np.isnan(s.fewshot[i, j]) else "fewshot+similarity"


def decide(s: Scores, codes: Sequence[str], ids: Sequence[str], th: Thresholds) -> pl.DataFrame:
    """Long table response_id, code_id, score, method. A cascade: codes whose score reaches
    ``accept`` (an include-phrase hit scores ``phrase_score``); if none, the best code when it
    reaches ``fallback``; best first, at most ``max_codes``, none below ``relative`` x the best.
    Otherwise 'other', scored 1 - best so the least certain answers sort first in review."""
    rows = []
    for i, rid in enumerate(ids):
        row = s.combined[i]
        order = np.lexsort((np.array(codes), -row)) if len(codes) else np.array([], int)
        best = float(row[order[0]]) if len(order) else 0.0
        chosen = [j for j in order if row[j] >= th.accept and row[j] >= th.relative * best]
        method = None
        if not chosen and len(order) and best >= th.fallback:
            chosen, method = [order[0]], "fallback"
        for j in chosen[: th.max_codes]:
            rows.append((rid, codes[j], round(float(row[j]), 6), method or _method(s, i, j)))
        if not chosen:
            rows.append((rid, OTHER, round(1.0 - best, 6), "no-confident-code"))
    return pl.DataFrame(
        rows,
        schema={
            "response_id": pl.String,
            "code_id": pl.String,
            "score": pl.Float64,
            "method": pl.String,
        },
        orient="row",
    )


def code_centroids(inp: CodeInputs) -> np.ndarray:
    """Per code: normalised mean of its definition, exemplars and human-coded answers."""
    pos = {rid: k for k, rid in enumerate(inp.ids)}
    rows = []
    for j, code in enumerate(inp.codes):
        vecs = [inp.definition_emb[j : j + 1], inp.exemplar_emb[j]]
        train = [pos[r] for r, cs in inp.training.items() if code in cs and r in pos]
        if train:
            vecs.append(inp.emb[train])
        v = np.vstack([x for x in vecs if x.size]).mean(axis=0)
        rows.append(v / (np.linalg.norm(v) or 1.0))
    return np.vstack(rows) if rows else np.zeros((0, inp.emb.shape[1]))


def other_proposals(
    ids: Sequence[str],
    texts: Sequence[str],
    emb: np.ndarray,
    centroids: np.ndarray,
    codes: Sequence[str],
    seed: int,
    method: str = "kmeans",
) -> pl.DataFrame:
    """Group the leftover 'other' answers: per answer, its group's draft new code (c-TF-IDF terms,
    label, definition, whether it is a central exemplar) and the nearest existing code."""
    schema = {
        "response_id": pl.String,
        "group": pl.Int64,
        "proposed_code": pl.String,
        "proposed_label": pl.String,
        "proposed_definition": pl.String,
        "group_terms": pl.String,
        "central_exemplar": pl.Boolean,
        "nearest_code": pl.String,
        "nearest_similarity": pl.Float64,
        "text": pl.String,
    }
    if not ids:
        return pl.DataFrame(schema=schema)
    g = grp.group(emb, 2, min(6, max(2, len(ids) // 3)), method, seed)
    terms = grp.ctfidf_terms(list(texts), g.labels)
    taken = set(codes) | {OTHER}
    meta = {}
    for k in range(g.k):
        meta[k] = (
            grp.draft_id(terms[k], taken),
            grp.draft_label(terms[k]),
            f"DRAFT - answers about {', '.join(terms[k]) or 'a mixed set'}",
            "; ".join(terms[k]),
            set(grp.central(emb, g.labels, k, 3)),
        )
    sims = emb @ centroids.T if len(codes) else np.zeros((len(ids), 0))
    rows = []
    for i, rid in enumerate(ids):
        k = int(g.labels[i])
        j = int(np.argmax(sims[i])) if sims.shape[1] else -1
        rows.append(
            (
                rid,
                k,
                meta[k][0],
                meta[k][1],
                meta[k][2],
                meta[k][3],
                i in meta[k][4],
                codes[j] if j >= 0 else "",
                round(float(sims[i, j]), 4) if j >= 0 else 0.0,
                texts[i],
            )
        )
    return pl.DataFrame(rows, schema=schema, orient="row").sort(["group", "response_id"])


def code_inputs(
    frame: Frame,
    ids: list[str],
    texts: list[str],
    emb: np.ndarray,
    embed: callable,
    training: Mapping[str, frozenset[str]],
) -> CodeInputs:  # type: ignore[valid-type]
    """Assemble scorer inputs from a frame; ``embed`` maps texts to vectors (cached)."""
    codes = [c for c in frame.codes if c.id != OTHER]
    defs = embed([f"{c.label}. {c.definition}" for c in codes]) if codes else np.zeros((0, 1))
    ex = [
        embed([e.text for e in c.exemplars]) if c.exemplars else np.zeros((0, emb.shape[1]))
        for c in codes
    ]
    owner, segs = segment_table(texts)
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
