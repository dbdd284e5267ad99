"""Small-n grouping and description, shared by discovery and the "other" review.

Why this and not HDBSCAN: with a few dozen to a few hundred short answers density clustering puts
many answers in an outlier bucket and moves with every parameter; a partition with k chosen by
silhouette over a small range puts every answer somewhere a person can judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grouping:
    labels: np.ndarray  # one group number per row, 0..k-1, numbered by size (largest first)
    k: int
    silhouette: dict[int, float]  # k tried -> mean silhouette (cosine)
    method: str
    seed: int


def _fit(emb: np.ndarray, k: int, method: str, seed: int) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering, KMeans  # deferred: start-up time

    if method == "agglomerative":
        return AgglomerativeClustering(
            n_clusters=k, metric="cosine", linkage="average"
        ).fit_predict(emb)
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(emb)


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Number groups by size, largest first, ties by first appearance: stable across runs."""
    uniq, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    remap = {uniq[i]: new for new, i in enumerate(order)}
    return np.array([remap[x] for x in labels], dtype=int)


SILHOUETTE_SAMPLE = 5000


def group(
    emb: np.ndarray, k_min: int = 3, k_max: int = 8, method: str = "kmeans", seed: int = 0
) -> Grouping:
    """Partition rows; k maximises the cosine silhouette over k_min..k_max (capped at n-1)."""
    n = emb.shape[0]
    hi = min(k_max, n - 1)
    if n < 3 or hi < 2:
        return Grouping(np.zeros(n, dtype=int), 1, {}, method, seed)
    from sklearn.metrics import silhouette_score  # deferred: start-up time

    lo = min(max(2, k_min), hi)
    scores: dict[int, float] = {}
    fits: dict[int, np.ndarray] = {}
    for k in range(lo, hi + 1):
        labels = _fit(emb, k, method, seed)
        if len(set(labels)) < 2:
            continue
        fits[k] = labels
        # silhouette is quadratic in n: above SILHOUETTE_SAMPLE rows it is computed on a seeded
        # sample of that many (a month of 50,000 answers would otherwise take minutes here)
        sample = SILHOUETTE_SAMPLE if n > SILHOUETTE_SAMPLE else None
        sil = silhouette_score(emb, labels, metric="cosine", sample_size=sample, random_state=seed)
        scores[k] = round(float(sil), 6)
    if not scores:
        return Grouping(np.zeros(n, dtype=int), 1, {}, method, seed)
    best = max(scores, key=lambda k: (scores[k], -k))
    return Grouping(_renumber(fits[best]), best, scores, method, seed)


# What the token pattern leaves of contractions ("didn't" -> "didn"): never a theme.
CONTRACTION_STUBS = frozenset(
    [
        "aren",
        "couldn",
        "didn",
        "doesn",
        "don",
        "hadn",
        "hasn",
        "haven",
        "isn",
        "ll",
        "mustn",
        "shouldn",
        "ve",
        "wasn",
        "weren",
        "won",
        "wouldn",
    ]
)


def strip_phrases(text: str, phrases: Iterable[str]) -> str:
    """The text with every multi-word phrase in ``phrases`` removed (case-insensitive, whole
    words), so "young people" cannot survive as a bigram once its words are stop words."""
    multi = sorted((p for p in phrases if " " in p), key=len, reverse=True)
    if not multi:
        return text
    pattern = r"\b(?:" + "|".join(re.escape(p) for p in multi) + r")\b"
    return re.sub(pattern, " ", text, flags=re.IGNORECASE)


def ctfidf_terms(
    texts: list[str], labels: np.ndarray, top_n: int = 6, stop_words: Iterable[str] = ()
) -> dict[int, list[str]]:
    """Class-based TF-IDF (as in BERTopic): each group's texts joined into one document; term
    weight = (term count in class / words in class) * log(1 + mean words per class / term count
    over all classes). ``stop_words`` (words or phrases that carry no theme for this question)
    are removed with the English stop words before counting."""
    extra = {w.lower() for w in stop_words}
    # deferred: scikit-learn is imported by the commands that group, not at start-up
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    groups = sorted(set(int(x) for x in labels))
    docs = [
        strip_phrases(" ".join(t for t, lab in zip(texts, labels, strict=True) if lab == g), extra)
        for g in groups
    ]
    try:
        vec = CountVectorizer(
            stop_words=sorted(
                ENGLISH_STOP_WORDS | CONTRACTION_STUBS | {w for w in extra if " " not in w}
            ),
            ngram_range=(1, 2),
            min_df=1,
            token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",
        )
        counts = vec.fit_transform(docs).toarray().astype(float)
    except ValueError:  # only stop words
        return {g: [] for g in groups}
    words = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + counts.sum(axis=1).mean() / np.maximum(counts.sum(axis=0), 1))
    weight = tf * idf
    out: dict[int, list[str]] = {}
    for i, g in enumerate(groups):
        order = np.lexsort((words, -weight[i]))  # weight desc, then alphabetical
        out[g] = [str(words[j]) for j in order[:top_n] if weight[i, j] > 0]
    return out


def central(emb: np.ndarray, labels: np.ndarray, g: int, n: int = 3) -> list[int]:
    """Row indices of the n members closest (cosine) to group g's centroid."""
    idx = np.flatnonzero(labels == g)
    centroid = emb[idx].mean(axis=0)
    sims = emb[idx] @ (centroid / (np.linalg.norm(centroid) or 1.0))
    return [int(idx[j]) for j in np.argsort(-sims, kind="stable")[:n]]


def draft_label(terms: list[str]) -> str:
    singles = [t for t in terms if " " not in t][:3] or terms[:3]
    return (", ".join(singles) or "unnamed group").capitalize()


def draft_id(terms: list[str], taken: set[str]) -> str:
    base = "_".join(t.replace(" ", "_") for t in [t for t in terms if " " not in t][:2]) or "group"
    cid, i = base, 2
    while cid in taken:
        cid, i = f"{base}_{i}", i + 1
    taken.add(cid)
    return cid
