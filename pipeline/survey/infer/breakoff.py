"""Find where partial responses stop: the opening questions a draft's partial rule is built on.

Survey tools export partial responses with the complete ones. A respondent who gave up answered
the opening questions and nothing after, so the question each response last answered splits
into two clusters: a few early stops, then everyone else much later. When such a gap exists (no
response stops within a run of at least a quarter of the questions, and the early cluster is at
most a quarter of the answering rows), the questions before it become the draft's opening block
and ``cleaning.partial_after_block`` names it. The rule, the gap and the count go into the YAML.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from pipeline.survey.infer.columns import Profile
from pipeline.survey.infer.questions import DraftQuestion

MAX_EARLY_SHARE = 0.25
MIN_GAP_SHARE = 0.25


@dataclass(frozen=True)
class BreakOff:
    last_opening: int  # index of the last opening question
    next_stop: int  # index of the first question a later cluster stops at
    rows: int  # responses that answered something but nothing after the opening questions


def last_answered(prof: Profile, questions: list[DraftQuestion]) -> list[int]:
    """Per response row: the index of the last question it answered (-1: none)."""
    last = [-1] * prof.rows
    for qi, q in enumerate(questions):
        for col in q.value_columns + ([q.other] if q.other is not None else []):
            for r, cell in enumerate(prof.cells(col)):
                if cell:
                    last[r] = max(last[r], qi)
    return last


def find_break_off(prof: Profile, questions: list[DraftQuestion]) -> BreakOff | None:
    stops = Counter(i for i in last_answered(prof, questions) if i >= 0)
    answering = sum(stops.values())
    if not answering or len(questions) < 4:
        return None
    occupied = sorted(stops)
    min_gap = max(3, int(len(questions) * MIN_GAP_SHARE))
    best: BreakOff | None = None
    early = 0
    for a, b in pairwise(occupied):
        early += stops[a]
        if b - a < min_gap or early > MAX_EARLY_SHARE * answering:
            continue
        if best is None or b - a > best.next_stop - best.last_opening:
            best = BreakOff(a, b, early)
    return best
