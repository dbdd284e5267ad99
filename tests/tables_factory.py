"""Tiny hand-made ``SurveyData`` for table tests: give a few respondents, get typed frames.

Columns take their dtype from the questionnaire spec (multi-choice options Boolean, everything
else text), so a test only writes the answers it cares about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import polars as pl

from pipeline.survey.questionnaire import Questionnaire, load_questionnaire


@cache
def spec() -> Questionnaire:
    return load_questionnaire("interactions_2025")


@dataclass(frozen=True)
class Data:
    spec: Questionnaire
    responses: pl.DataFrame
    routes: dict[str, pl.DataFrame] = field(default_factory=dict)
    loops: dict[str, pl.DataFrame] = field(default_factory=dict)


def make_data(rows: list[dict[str, object]]) -> Data:
    """Respondents as dicts (``_route`` defaults to youth); unknown columns are text."""
    q = spec()
    dtypes = {c.name: (pl.Boolean if c.dtype == "bool" else pl.String) for c in q.columns}
    names: list[str] = ["_respondent", "_route"]
    for r in rows:
        names += [k for k in r if k not in names]
    schema = {n: dtypes.get(n, pl.String) for n in names}
    full = [
        {"_respondent": f"r{i}", "_route": "youth", **{k: v for k, v in r.items()}}
        for i, r in enumerate(rows)
    ]
    frame = pl.DataFrame(full, schema=schema)
    return Data(q, frame)


def youth_multi(qid: str, ticked: list[str], options: list[str]) -> dict[str, object]:
    """Answers to a multi-choice question: ticked options True, the others False."""
    return {f"{qid}__{o}": (o in ticked) for o in options}
