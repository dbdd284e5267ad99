"""Discovery: draft a coding frame from a random sample, for a person to edit.

Why: the team's method is inductive (draft from ~24 random answers, refine, apply). The machine
only proposes groups, distinctive terms, central answers and taxonomy themes; the person writes the
frame. Words that carry no theme for this question (its own words, "young people", "youth", stop
words) are removed before terms are weighed, so a group is named by what its answers are about.
The saturation curve counts draft *codes* (an answer opens one when it is far from every code
seen so far), not k-means groups, whose number k fixes: if the last batches still open codes, read
more answers before freezing the frame.
"""

from __future__ import annotations

import re
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
    saturation: pl.DataFrame  # batch, answers_seen, new_codes, codes_seen, singletons_seen
    draft: dict  # the draft frame, ready for YAML
    silhouette: dict[int, float]


# Words that carry no theme in any youth-sector JOQ answer: every answer is about young people.
NO_THEME: tuple[str, ...] = ("young people", "young person", "young", "people", "youth")
OPEN_CODE_AT = 0.4  # cosine below which an answer opens a new draft code (NHS dev months)
MIN_CODE_SIZE = 2  # a code a person would write covers at least this many sample answers


def no_theme_words(question: str, extra: tuple[str, ...] = NO_THEME) -> list[str]:
    """The question's own words plus ``extra``: they are in every answer's context, not its theme."""
    words = re.findall(r"[a-z][a-z']+", question.lower())
    return sorted({w.strip("'") for w in words} | set(extra))


def open_codes(
    emb: np.ndarray, order: np.ndarray, threshold: float = OPEN_CODE_AT
) -> tuple[np.ndarray, np.ndarray]:
    """Leader clustering in ``order``: an answer joins the code whose centroid it is nearest
    (cosine) when that reaches ``threshold``, else it opens a new code. Returns the code of each
    row and, per code, the position in ``order`` where it was opened."""
    code = np.full(len(order), -1)
    sums: list[np.ndarray] = []
    opened: list[int] = []
    for pos, i in enumerate(order):
        if sums:
            cents = np.vstack(sums)
            cents = cents / np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-12)
            sims = cents @ emb[i]
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                code[i] = best
                sums[best] = sums[best] + emb[i]
                continue
        code[i] = len(sums)
        sums.append(emb[i].astype(float).copy())
        opened.append(pos)
    return code, np.array(opened, int)


def saturation_curve(
    emb: np.ndarray,
    seed: int,
    batch: int = 8,
    threshold: float = OPEN_CODE_AT,
    min_size: int = MIN_CODE_SIZE,
) -> pl.DataFrame:
    """Shuffle the sample with the sample's seed; per batch of ``batch`` answers, the draft codes
    first opened in it that end up covering at least ``min_size`` answers (``codes_seen``: how
    many a person would need so far; singletons are counted apart in ``singletons_seen``)."""
    order = np.random.default_rng(seed).permutation(emb.shape[0])
    code, opened = open_codes(emb, order, threshold)
    sizes = np.bincount(code, minlength=len(opened)) if len(opened) else np.zeros(0, int)
    rows = []
    for b, start in enumerate(range(0, len(order), batch), start=1):
        end = min(start + batch, len(order))
        new = (opened >= start) & (opened < end)
        seen = opened < end
        rows.append(
            {
                "batch": b,
                "answers_seen": end,
                "new_codes": int((new & (sizes >= min_size)).sum()),
                "codes_seen": int((seen & (sizes >= min_size)).sum()),
                "singletons_seen": int((seen & (sizes < min_size)).sum()),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "batch": pl.Int64,
            "answers_seen": pl.Int64,
            "new_codes": pl.Int64,
            "codes_seen": pl.Int64,
            "singletons_seen": pl.Int64,
        },
    )


def draft_definition(terms: list[str], central_texts: list[str], width: int = 160) -> str:
    """A definition a person can edit: what the group's answers are about, and the most central
    answer as an example (shortened)."""
    about = ", ".join(terms[:4]) or "a mixed set"
    example = " ".join(central_texts[0].split()) if central_texts else ""
    if len(example) > width:
        example = example[: width - 3].rsplit(" ", 1)[0] + "..."
    return (
        f"DRAFT - apply when the answer is about {about}"
        + (f', for example: "{example}"' if example else "")
        + ". Do not apply when ... (edit me)"
    )


def central_terms(terms: list[str], central_texts: list[str]) -> list[str]:
    """The group's terms that its central answers use, best first, then the rest: a label read
    from the answers that best represent the group."""
    low = " ".join(central_texts).lower()
    used = [t for t in terms if re.search(rf"\b{re.escape(t)}\b", low)]
    return used + [t for t in terms if t not in used]


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
    terms = grp.ctfidf_terms(
        texts, g.labels, stop_words=no_theme_words(frame.question if frame else "")
    )
    centroids = np.vstack([emb[g.labels == k].mean(axis=0) for k in range(g.k)])
    themes = theme_matches(centroids, theme_emb, taxonomy)
    taken = {"other"}
    codes, group_rows, central_rows = [], [], set()
    for k in range(g.k):
        centre = grp.central(emb, g.labels, k, 3)
        central_rows |= set(centre)
        named = central_terms(terms[k], [texts[i] for i in centre])
        cid = grp.draft_id(named, taken)
        top_themes = themes[k][:2]
        codes.append(
            {
                "id": cid,
                "label": grp.draft_label(named),
                "definition": draft_definition(named, [texts[i] for i in centre])
                + " Suggested themes: "
                + "; ".join(f"{t} ({s:.2f})" for t, s in top_themes)
                + ".",
                "theme": top_themes[0][0] if top_themes else "other",
                "include": [t for t in named if " " not in t][:4],
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
        sample_out, pl.DataFrame(group_rows), saturation_curve(emb, seed), draft, g.silhouette
    )


def draft_yaml(d: Discovery) -> str:
    head = (
        "# DRAFT coding frame written by `joinedup joq discover`. Edit labels, definitions,\n"
        "# include/exclude phrases and themes, then save it as coding_frames/joq/<month>.yaml\n"
        "# with status: reviewed. Silhouette by k: "
        + ", ".join(f"{k}={v:.3f}" for k, v in d.silhouette.items())
        + "\n"
        + saturation_note(d.saturation)
    )
    return head + yaml.safe_dump(d.draft, sort_keys=False, allow_unicode=True, width=100)


def saturation_note(curve: pl.DataFrame) -> str:
    """One comment line: how many draft codes the sample needs and whether the last batch still
    opened one (then read more answers before freezing the frame)."""
    if curve.height == 0:
        return ""
    last = curve.row(-1, named=True)
    verdict = (
        "the last batch still opened a code: read more answers before freezing the frame"
        if last["new_codes"]
        else "the last batch opened no code"
    )
    return (
        f"# Saturation: {last['codes_seen']} draft codes of at least {MIN_CODE_SIZE} answers "
        f"(plus {last['singletons_seen']} single answers) in {last['answers_seen']} answers; "
        f"{verdict}.\n"
    )
