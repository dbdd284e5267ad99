"""The discovery sample: which answers a person reads first to draft the frame.

Why exact: the reference split was drawn with this algorithm, so it must not drift. Simple random:
``ids = sorted(usable ids)``; ``rng = numpy.random.default_rng(seed)``;
``idx = rng.choice(len(ids), size=n, replace=False)``; ``sample = sorted(ids[i] for i in idx)``.

Stratified by sector (``stratify_by: sector``): each answer's stratum is its sector selection
collapsed to one key: the single sector code, ``all`` for "All of the above" (alone or with
others), ``multiple`` for two or more named sectors, ``none`` when nothing was selected. Sizes are
proportional (largest remainder: floor(n * N_h / N), then the remaining places go to the largest
fractional parts, ties by stratum name). One generator ``default_rng(seed)`` is then used for
each stratum in sorted stratum order, with the simple-random algorithm inside the stratum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from pipeline.core.errors import InputError


def simple_sample(ids: Sequence[str], n: int, seed: int) -> list[str]:
    ordered = sorted(ids)
    if n > len(ordered):
        raise InputError(
            f"sample size {n} is larger than the {len(ordered)} usable answers",
            fix="use a smaller --sample",
        )
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(ordered), size=n, replace=False)
    return sorted(ordered[i] for i in idx)


def stratum(sectors: Sequence[str] | None) -> str:
    s = [] if sectors is None else list(sectors)
    if "all" in s:
        return "all"
    if not s:
        return "none"
    return s[0] if len(s) == 1 else "multiple"


def allocate(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Proportional allocation with largest remainders (deterministic tie-break by name)."""
    total = sum(sizes.values())
    exact = {k: n * v / total for k, v in sizes.items()}
    alloc = {k: int(np.floor(x)) for k, x in exact.items()}
    left = n - sum(alloc.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - alloc[k]), k))[:left]:
        alloc[k] += 1
    return alloc


def stratified_sample(strata: Mapping[str, str], n: int, seed: int) -> list[str]:
    """``strata`` maps response id to stratum key."""
    if n > len(strata):
        raise InputError(
            f"sample size {n} is larger than the {len(strata)} usable answers",
            fix="use a smaller --sample",
        )
    groups: dict[str, list[str]] = {}
    for rid, key in strata.items():
        groups.setdefault(key, []).append(rid)
    alloc = allocate({k: len(v) for k, v in groups.items()}, n)
    rng = np.random.default_rng(seed)
    out: list[str] = []
    for key in sorted(groups):
        ids = sorted(groups[key])
        if alloc[key]:
            out.extend(ids[i] for i in rng.choice(len(ids), size=alloc[key], replace=False))
    return sorted(out)


def draw_sample(usable: pl.DataFrame, n: int, seed: int, stratify_by: str | None) -> list[str]:
    """Draw from a frame of usable responses (``response_id``, ``sectors``)."""
    if stratify_by == "sector":
        keys = {
            r: stratum(s) for r, s in zip(usable["response_id"], usable["sectors"], strict=True)
        }
        return stratified_sample(keys, n, seed)
    if stratify_by not in (None, ""):
        raise InputError(f"unknown stratification '{stratify_by}'", fix="use sector or nothing")
    return simple_sample(usable["response_id"].to_list(), n, seed)
