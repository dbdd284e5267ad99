"""Discovery: draft a coding frame from a random sample, for a person to edit.

Why: the team's method is inductive (draft from ~24 random answers, refine, apply). The machine
only proposes groups, distinctive terms, central answers and taxonomy themes; the person writes the
frame. The saturation curve shows whether the sample kept finding new groups until the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import yaml

from pipeline.joq import groups as grp
from pipeline.joq.frames import Frame, Taxonomy


@dataclass
class Discovery:
    sample: pl.DataFrame  # response_id, text, group, central
    groups: pl.DataFrame  # group, n, terms, label, theme, theme_similarity
    saturation: pl.DataFrame  # batch, answers_seen, new_groups, groups_seen
    draft: dict  # the draft frame, ready for YAML
    silhouette: dict[int, float]


def saturation_curve(labels: np.ndarray, seed: int, batch: int = 8) -> pl.DataFrame:
    """Shuffle the sample with the sample's seed, then count groups first seen in each batch."""
    order = np.random.default_rng(seed).permutation(len(labels))
    seen: set[int] = set()
    rows = []
    for b, start in enumerate(range(0, len(order), batch), start=1):
        batch_labels = {int(labels[i]) for i in order[start : start + batch]}
        new = batch_labels - seen
        seen |= new
        rows.append(
            {
                "batch": b,
                "answers_seen": min(start + batch, len(order)),
                "new_groups": len(new),
                "groups_seen": len(seen),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "batch": pl.Int64,
            "answers_seen": pl.Int64,
            "new_groups": pl.Int64,
            "groups_seen": pl.Int64,
        },
    )


def theme_matches(
    centroids: np.ndarray, theme_emb: np.ndarray, taxonomy: Taxonomy
) -> list[list[tuple[str, float]]]:
    """For each group centroid, taxonomy themes by cosine similarity (best first, 'other' last)."""
    ids = taxonomy.ids()
    c = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    sims = c @ theme_emb.T
    out = []
    for row in sims:
        ranked = sorted(
            ((ids[j], float(row[j])) for j in range(len(ids)) if ids[j] != "other"),
            key=lambda x: (-x[1], x[0]),
        )
        out.append(ranked)
    return out


def theme_texts(taxonomy: Taxonomy) -> list[str]:
    return [f"{t.label}. {t.description}".strip() for t in taxonomy.themes]


def discover(
    sample: pl.DataFrame,
    emb: np.ndarray,
    theme_emb: np.ndarray,
    taxonomy: Taxonomy,
    month: str,
    seed: int,
    stratify_by: str | None,
    frame: Frame | None = None,
    k_min: int = 3,
    k_max: int = 8,
    method: str = "kmeans",
) -> Discovery:
    """``sample`` has response_id, text (rows aligned with ``emb``)."""
    g = grp.group(emb, k_min, k_max, method, seed)
    texts = sample["text"].to_list()
    ids = sample["response_id"].to_list()
    terms = grp.ctfidf_terms(texts, g.labels)
    centroids = np.vstack([emb[g.labels == k].mean(axis=0) for k in range(g.k)])
    themes = theme_matches(centroids, theme_emb, taxonomy)
    taken = {"other"}
    codes, group_rows, central_rows = [], [], set()
    for k in range(g.k):
        cid = grp.draft_id(terms[k], taken)
        centre = grp.central(emb, g.labels, k, 3)
        central_rows |= set(centre)
        top_themes = themes[k][:2]
        codes.append(
            {
                "id": cid,
                "label": grp.draft_label(terms[k]),
                "definition": (
                    f"DRAFT - apply when the answer is about: {', '.join(terms[k])}. "
                    f"Suggested themes: "
                    + "; ".join(f"{t} ({s:.2f})" for t, s in top_themes)
                    + ". Do not apply when ... (edit me)"
                ),
                "theme": top_themes[0][0] if top_themes else "other",
                "include": [t for t in terms[k] if " " not in t][:4],
                "exclude": [],
                "exemplars": [{"response_id": ids[i], "text": texts[i]} for i in centre],
                "version": 1,
            }
        )
        group_rows.append(
            {
                "group": k,
                "n": int((g.labels == k).sum()),
                "code_id": cid,
                "terms": "; ".join(terms[k]),
                "theme": codes[-1]["theme"],
                "theme_similarity": round(top_themes[0][1], 4) if top_themes else 0.0,
            }
        )
    codes.append(
        {
            "id": "other",
            "label": "Other",
            "definition": "Apply when no other code fits.",
            "theme": "other",
            "include": [],
            "exclude": [],
            "exemplars": [],
            "version": 1,
        }
    )
    draft = {
        "month": month,
        "version": 1,
        "status": "draft",
        "question": frame.question if frame else "",
        "sectors": [s.model_dump() for s in frame.sectors] if frame else [],
        "sample": {"size": len(ids), "seed": seed, "stratify_by": stratify_by},
        "codes": codes,
    }
    Frame.model_validate(draft)  # the draft must load once a person has edited it
    sample_out = sample.select("response_id", "text").with_columns(
        pl.Series("group", g.labels.astype(np.int64)),
        pl.Series("central", [i in central_rows for i in range(len(ids))]),
    )
    return Discovery(
        sample_out, pl.DataFrame(group_rows), saturation_curve(g.labels, seed), draft, g.silhouette
    )


def draft_yaml(d: Discovery) -> str:
    head = (
        "# DRAFT coding frame written by `joinedup joq discover`. Edit labels, definitions,\n"
        "# include/exclude phrases and themes, then save it as coding_frames/joq/<month>.yaml\n"
        "# with status: reviewed. Silhouette by k: "
        + ", ".join(f"{k}={v:.3f}" for k, v in d.silhouette.items())
        + "\n"
    )
    return head + yaml.safe_dump(d.draft, sort_keys=False, allow_unicode=True, width=100)
