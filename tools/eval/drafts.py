"""How good are `joq discover`'s draft frames? Measured against frames people wrote.

Why: a draft is useful when its codes are the codes a coder ends up with. For a sample of human-
coded answers this counts draft codes that map one-to-one to a human code (each is the other's
majority: most of the draft group's answers carry the human code, and no other draft group holds
more of that code's answers), how precise each draft's include phrases are for its mapped code,
and how many codes the saturation measure says the sample needs against the human codes present.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from pipeline.joq import discover as disc
from pipeline.joq.frames import Frame, Taxonomy

NEUTRAL_TAXONOMY = Taxonomy.model_validate(
    {
        "version": 1,
        "themes": [{"id": "general", "label": "General"}, {"id": "other", "label": "Other"}],
    }
)


def one_to_one(groups: Sequence[int], codes: Sequence[frozenset[str]]) -> list[tuple[int, str]]:
    """(draft group, human code) pairs that are each other's majority."""
    by_group: dict[int, Counter] = {}
    by_code: dict[str, Counter] = {}
    for g, cs in zip(groups, codes, strict=True):
        for c in cs:
            by_group.setdefault(int(g), Counter())[c] += 1
            by_code.setdefault(c, Counter())[int(g)] += 1

    def top(counter: Counter):
        return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]

    return sorted((g, top(cnt)) for g, cnt in by_group.items() if top(by_code[top(cnt)]) == g)


def phrase_precision(
    texts: Sequence[str], codes: Sequence[frozenset[str]], include: Sequence[str], code: str
) -> float:
    """Share of the answers the draft's include phrases hit that carry the mapped human code."""
    hit = [any(p in t.lower() for p in include) for t in texts]
    n = sum(hit)
    return (
        float("nan")
        if n == 0
        else sum(h and code in c for h, c in zip(hit, codes, strict=True)) / n
    )


def draft_quality(
    ids: Sequence[str],
    texts: Sequence[str],
    emb: np.ndarray,
    gold: Mapping[str, frozenset[str]],
    question: str,
    seed: int,
) -> dict:
    """Run discover on these answers and compare its draft with the human codes."""
    sample = pl.DataFrame({"response_id": list(ids), "text": list(texts)})
    ctx = Frame.model_validate(
        {
            "month": "2024-01",
            "question": question,
            "codes": [{"id": "other", "label": "Other", "theme": "other"}],
        }
    )
    theme_emb = np.zeros((len(NEUTRAL_TAXONOMY.themes), emb.shape[1]))
    d = disc.discover(sample, emb, theme_emb, NEUTRAL_TAXONOMY, "2024-01", seed, None, ctx)
    labels = d.sample.sort("response_id")
    pos = {r: i for i, r in enumerate(labels["response_id"])}
    groups = [int(labels["group"][pos[r]]) for r in ids]
    codes = [gold[r] for r in ids]
    pairs = one_to_one(groups, codes)
    drafts = [c for c in d.draft["codes"] if c["id"] != "other"]
    precision = [phrase_precision(texts, codes, drafts[g]["include"], code) for g, code in pairs]
    present = Counter(c for cs in codes for c in cs)
    last = d.saturation.row(-1, named=True)
    return {
        "answers": len(ids),
        "draft_codes": len(drafts),
        "human_codes": len(present),
        "human_codes_2plus": sum(n >= 2 for n in present.values()),
        "one_to_one": len(pairs),
        "phrase_precision": float(np.nanmean(precision)) if precision else float("nan"),
        "saturation_codes": last["codes_seen"],
        "labels": [drafts[g]["label"] for g, _ in pairs],
    }
