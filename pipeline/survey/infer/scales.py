"""Known ordered answer scales (agreement, frequency, satisfaction, ...) and their nets.

A set of answers is read as a known scale when at least two of them are points of it and every
other answer is a non-substantive one (don't know, not applicable, prefer not to say). The scale
then gives the options their order, and the nets the draft tables report (agree / disagree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.core.text import norm

NON_SUBSTANTIVE = re.compile(
    r"^(don'?t know|do not know|not sure|unsure|n/?a|not applicable|prefer not to (say|answer)|"
    r"unfamiliar.*|no opinion|can'?t say|cannot say)$"
)


@dataclass(frozen=True)
class Scale:
    """An ordered scale: one pattern per point, most positive first; nets by point index."""

    name: str
    points: tuple[str, ...]  # regexes over norm(label), in scale order
    nets: tuple[tuple[str, str, tuple[int, ...]], ...]  # (net id, label, point indexes)


SCALES: tuple[Scale, ...] = (
    Scale(
        "agreement",
        (
            r"^strongly agree$",
            r"^(agree|tend to agree)$",
            r"^(somewhat|slightly|mostly) agree$",
            r"^neither agree n?or disagree|^neutral$",
            r"^(somewhat|slightly|mostly) disagree$",
            r"^(disagree|tend to disagree)$",
            r"^strongly disagree$",
        ),
        (("net_agree", "Agree (net)", (0, 1, 2)), ("net_disagree", "Disagree (net)", (4, 5, 6))),
    ),
    Scale(
        "satisfaction",
        (
            r"^(very|extremely|completely) satisfied$",
            r"^(satisfied|fairly satisfied)$",
            r"^somewhat satisfied$",
            r"^neither satisfied n?or dissatisfied|^neutral$",
            r"^somewhat dissatisfied$",
            r"^(dissatisfied|fairly dissatisfied)$",
            r"^(very|extremely|completely) dissatisfied$",
        ),
        (
            ("net_satisfied", "Satisfied (net)", (0, 1, 2)),
            ("net_dissatisfied", "Dissatisfied (net)", (4, 5, 6)),
        ),
    ),
    Scale(
        "favourability",
        (
            r"^very favou?rabl[ey]$",
            r"^(somewhat )?favou?rabl[ey]$",
            r"^neither favou?rabl[ey] n?or unfavou?rabl[ey]",
            r"^(somewhat )?unfavou?rabl[ey]$",
            r"^very unfavou?rabl[ey]$",
        ),
        (
            ("net_favourable", "Favourable (net)", (0, 1)),
            ("net_unfavourable", "Unfavourable (net)", (3, 4)),
        ),
    ),
    Scale(
        "frequency",
        (
            r"^always$",
            r"^(very often|most of the time|almost always)$",
            r"^(often|usually|frequently)$",
            r"^(sometimes|occasionally)$",
            r"^(rarely|seldom|hardly ever)$",
            r"^never$",
        ),
        (
            ("net_often", "Often or more (net)", (0, 1, 2)),
            ("net_rarely", "Rarely or never (net)", (4, 5)),
        ),
    ),
    Scale(
        "likelihood",
        (
            r"^(very|extremely) likely$",
            r"^(likely|fairly likely|somewhat likely)$",
            r"^neither likely n?or unlikely|^neutral$",
            r"^(unlikely|fairly unlikely|somewhat unlikely)$",
            r"^(very|extremely) unlikely$",
        ),
        (("net_likely", "Likely (net)", (0, 1)), ("net_unlikely", "Unlikely (net)", (3, 4))),
    ),
    Scale(
        "quality",
        (r"^excellent$", r"^very good$", r"^good$", r"^(fair|average)$", r"^poor$", r"^very poor$"),
        (("net_good", "Good or better (net)", (0, 1, 2)), ("net_poor", "Poor (net)", (4, 5))),
    ),
)


@dataclass(frozen=True)
class ScaleMatch:
    scale: Scale
    ordered: tuple[str, ...]  # the labels in scale order, non-substantive answers last
    positions: dict[str, int]  # label -> point index (non-substantive labels absent)


def match_scale(labels: list[str]) -> ScaleMatch | None:
    """The known scale these answer labels belong to, or None."""
    for scale in SCALES:
        positions: dict[str, int] = {}
        rest: list[str] = []
        for label in labels:
            n = norm(label)
            hit = next((i for i, p in enumerate(scale.points) if re.search(p, n)), None)
            if hit is not None:
                positions[label] = hit
            elif NON_SUBSTANTIVE.match(n):
                rest.append(label)
            else:
                break
        else:
            if len(set(positions.values())) >= 2:
                ordered = sorted(positions, key=lambda lab: (positions[lab], lab))
                return ScaleMatch(scale, (*ordered, *sorted(rest)), positions)
    return None
