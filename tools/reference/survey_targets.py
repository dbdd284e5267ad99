"""Integer targets from published percentages: which whole-number counts the report implies.

A printed percentage p on a base N is consistent with any count n whose rounded-half-up share
is p. The allocator picks, for each printed value, the consistent count closest to p x N, then
adjusts within the consistent ranges when the counts must also sum to a total (every option of a
single-choice question printed) or fit a cap (a top-three question).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from pipeline.survey.published import Published, PublishedValue


def round_half_up(x: float | Fraction) -> int:
    """Whole-number rounding as the report does it (2.5 -> 3), free of float ties."""
    return math.floor(Fraction(x) + Fraction(1, 2))


def pct_of(n: int, base: int) -> int:
    return round_half_up(Fraction(100 * n, base))


def count_range(pct: int, base: int) -> tuple[int, int]:
    """The counts n with round_half_up(100 n / base) == pct (possibly empty: lo > hi)."""
    lo = max(0, math.ceil(Fraction((2 * pct - 1) * base, 200)))
    hi = min(base, math.ceil(Fraction((2 * pct + 1) * base, 200)) - 1)
    return lo, hi


class Infeasible(ValueError):
    """No whole-number counts give the printed percentages under the stated constraints."""


def solve_counts(
    pcts: Mapping[str, int],
    base: int,
    *,
    total: int | None = None,
    cap: int | None = None,
    fixed: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Counts reproducing ``pcts`` on ``base``, closest to exact, summing to ``total`` or <= ``cap``.

    ``fixed`` pins printed counts (a count printed beside its percentage wins).
    """
    fixed = dict(fixed or {})
    ranges: dict[str, tuple[int, int]] = {}
    for code, p in pcts.items():
        lo, hi = (fixed[code], fixed[code]) if code in fixed else count_range(p, base)
        if lo > hi:
            raise Infeasible(f"{code}: no count gives {p}% of {base}")
        ranges[code] = (lo, hi)
    exact = {c: Fraction(pcts[c] * base, 100) for c in pcts}
    counts = {c: min(max(round_half_up(exact[c]), lo), hi) for c, (lo, hi) in ranges.items()}

    def cost(c: str, n: int) -> Fraction:
        return abs(n - exact[c])

    def step(direction: int) -> None:
        movable = [c for c in counts if ranges[c][0] <= counts[c] + direction <= ranges[c][1]]
        if not movable:
            raise Infeasible(f"cannot reach the required total on base {base}")
        best = min(movable, key=lambda c: (cost(c, counts[c] + direction) - cost(c, counts[c]), c))
        counts[best] += direction

    if total is not None:
        while sum(counts.values()) < total:
            step(+1)
        while sum(counts.values()) > total:
            step(-1)
    if cap is not None:
        while sum(counts.values()) > cap:
            step(-1)
    return counts


@dataclass(frozen=True)
class Target:
    """The printed values for one question (and loop item or allied group)."""

    question: str
    group: str | None
    base: int | None
    values: dict[str, PublishedValue]

    def pcts(self) -> dict[str, int]:
        return {r: v.pct for r, v in self.values.items() if v.pct is not None and not v.qualifier}

    def counts(self) -> dict[str, int]:
        return {r: v.n for r, v in self.values.items() if v.n is not None}

    def ratios(self) -> dict[str, PublishedValue]:
        return {r: v for r, v in self.values.items() if v.ratio is not None and not v.qualifier}


TARGET_STATISTICS = ("frequency", "multi_response", "top3", "likert_net", "formality", "ratio")


def targets_from(published: Published) -> dict[tuple[str, str | None, str], Target]:
    """(question, group, statistic) -> printed values, tables and figures before prose repeats."""
    out: dict[tuple[str, str | None, str], Target] = {}
    ordered: Iterable[PublishedValue] = sorted(
        published.values(), key=lambda v: v.figure_id.startswith("text-")
    )
    for v in ordered:
        if v.statistic not in TARGET_STATISTICS or v.question is None:
            continue
        key = (v.question, v.group, v.statistic)
        t = out.setdefault(key, Target(v.question, v.group, v.base, {}))
        if v.row not in t.values:
            t.values[v.row] = v
        if t.base is None and v.base is not None and v.statistic != "ratio":
            out[key] = Target(t.question, t.group, v.base, t.values)
    return out


def scalar(published: Published, figure_id: str, row: str) -> PublishedValue:
    """One published value by figure and row (scalars and counts the allocator needs)."""
    for v in published.values():
        if v.figure_id == figure_id and v.row == row:
            return v
    raise KeyError(f"{figure_id}/{row}")
