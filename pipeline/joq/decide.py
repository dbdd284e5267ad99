"""The decision rule of the JOQ coder, and what happens to the answers it leaves over.

Scores come from ``pipeline.joq.scorers`` on 0..1, so one threshold (``accept``) decides, with a
fallback for the best code, a relative floor and a cap on codes per answer. Answers with no
confident code go to the "other" queue, where they are grouped into draft new codes and matched to
the nearest existing code's centroid for the reviewer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from pipeline.joq import groups as grp
from pipeline.joq.frames import OTHER, Thresholds
from pipeline.joq.scorers import CodeInputs, Scores


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
