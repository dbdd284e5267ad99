"""Routing: usable respondents split by route, and each question loop reshaped long.

Grain of ``SurveyData.loops[loop]``: one row per respondent x loop item they interacted with.
Loop question columns lose their item suffix (``purposes_education__referral`` becomes
``purposes__referral`` on the ``education`` row) so one expression serves every item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline.survey.questionnaire import Questionnaire

GATE = "interacted"  # the loop question whose "yes" puts a respondent x item in the long frame


@dataclass(frozen=True)
class SurveyData:
    spec: Questionnaire
    responses: pl.DataFrame
    routes: dict[str, pl.DataFrame] = field(default_factory=dict)
    loops: dict[str, pl.DataFrame] = field(default_factory=dict)


def background_columns(spec: Questionnaire) -> list[str]:
    block = spec.model.cleaning.partial_after_block
    return spec.block_columns(block) if block else []


def loop_long(responses: pl.DataFrame, spec: Questionnaire, loop: str) -> pl.DataFrame:
    """Stack one frame per loop item, keeping only respondent x items with ``interacted == yes``."""
    items = spec.model.loops[loop].items
    background = [c for c in background_columns(spec) if c in responses.columns]
    parts = []
    for item in items:
        suffix = f"_{item.code}"
        renames = {}
        for col in spec.columns:
            if (
                col.instance.item is None
                or col.instance.item.code != item.code
                or col.instance.question.loop != loop
            ):
                continue
            stem = col.instance.id[: -len(suffix)]
            renames[col.name] = stem + col.name[len(col.instance.id) :]
        part = (
            responses.lazy()
            .select(
                "_respondent",
                "_row",
                "_route",
                *background,
                *[pl.col(k).alias(v) for k, v in renames.items()],
            )
            .with_columns(item=pl.lit(item.code))
        )
        if GATE in renames.values():  # filter each item before stacking: far fewer rows to copy
            part = part.filter(pl.col(GATE) == "yes")
        parts.append(part)
    long = pl.concat(parts, how="vertical").collect()
    front = ["_respondent", "_row", "_route", "item"]
    return long.select(front + [c for c in long.columns if c not in front]).sort(["_row", "item"])


def route(usable: pl.DataFrame, spec: Questionnaire) -> SurveyData:
    routes = {r: usable.filter(pl.col("_route") == r) for r in spec.routes}
    loops = {loop: loop_long(usable, spec, loop) for loop in spec.model.loops}
    return SurveyData(spec, usable, routes, loops)
