"""Unit frames and masks: the rows a table counts, and who is in its base.

A table counts **units**: respondents (one row per usable respondent) or, for a loop question,
respondent × loop item ("interactions"). The loop frame is built here from the wide mapped
columns (``purposes_education__referral`` -> ``purposes__referral`` plus ``item``), so every
statistic addresses a loop question by its stem whatever the item. Loops are over items and
options only, never over respondents.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl

from pipeline.survey.questionnaire import Question, Questionnaire
from pipeline.survey.tables.definitions import ITEM, Population, TableSpec


class SurveyDataLike(Protocol):
    """What the engine needs of ``pipeline.survey.route.SurveyData``: the spec and the responses."""

    @property
    def spec(self) -> Questionnaire: ...

    @property
    def responses(self) -> pl.DataFrame: ...


def population_mask(responses: pl.DataFrame, pop: Population) -> pl.Expr:
    """True for respondents in the population: on its route and passing every background filter.

    A mask rather than a filtered copy: the engine applies it in the same pass as the counts, so
    no table copies the wide frame (at 1M respondents each copy held about 1 GB)."""
    cond = pl.lit(True)
    if pop.route is not None:
        cond = cond & (pl.col("_route") == pop.route).fill_null(False)
    for var, codes in pop.filter.items():
        value = col_or_null(responses, var, pl.String()).cast(pl.String)
        cond = cond & value.is_in(list(codes)).fill_null(False)
    return cond


def population_frame(responses: pl.DataFrame, pop: Population) -> pl.DataFrame:
    """Respondents in the population: on its route and passing every background filter."""
    return responses.filter(population_mask(responses, pop))


def loop_items(spec: Questionnaire, question: Question, table: TableSpec) -> list[str]:
    if not question.loop:
        return []
    codes = [i.code for i in spec.model.loops[question.loop].items]
    return [c for c in codes if c in table.items] if table.items else codes


def long_frame(
    frame: pl.DataFrame, spec: Questionnaire, loop: str, items: list[str]
) -> pl.DataFrame:
    """One row per respondent × loop item, loop columns renamed to their stems, plus ``item``."""
    loop_cols = {c.name for c in spec.columns if c.instance.item is not None}
    keep = [c for c in frame.columns if c not in loop_cols]
    parts: list[pl.DataFrame] = []
    for item in items:
        renames: list[pl.Expr] = []
        for c in spec.columns:
            inst = c.instance
            if inst.item is None or inst.item.code != item or inst.question.loop != loop:
                continue
            stem = inst.question.id + c.name[len(inst.id) :]
            col = pl.col(c.name) if c.name in frame.columns else pl.lit(None, dtype=_dtype(c.dtype))
            renames.append(col.alias(stem))
        parts.append(frame.select(pl.col(keep), *renames, pl.lit(item).alias(ITEM)))
    if not parts:
        return frame.select(pl.col(keep)).clear().with_columns(pl.lit(None, pl.String).alias(ITEM))
    return pl.concat(parts, how="vertical_relaxed")


def _dtype(kind: str) -> pl.DataType:
    return pl.Boolean() if kind == "bool" else pl.String()


def option_columns(spec: Questionnaire, question: Question) -> dict[str, str]:
    """Option code -> stem column for a multi-choice question (loop or not)."""
    return {o.code: f"{question.id}__{o.code}" for o in spec.options(question)}


def col_or_null(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype)


def value_expr(frame: pl.DataFrame, question: Question, column: str | None = None) -> pl.Expr:
    """A single/Likert question's answer code as text (null when unanswered or blank).

    An override ``column`` (``_sector``: sector after recoding) falls back to the question's own
    column when the frame lacks it, since cleaning writes the recoded value there too.
    """
    name = column if column and column in frame.columns else question.id
    v = col_or_null(frame, name, pl.String()).cast(pl.String)
    return pl.when(v.str.strip_chars() != "").then(v)


def answered(
    frame: pl.DataFrame, spec: Questionnaire, question: Question, column: str | None = None
) -> pl.Expr:
    """True where the respondent gave any answer (an option ticked or text in 'Other')."""
    if question.type != "multi":
        return value_expr(frame, question, column).is_not_null()
    ticks = [
        col_or_null(frame, c, pl.Boolean()).fill_null(False)
        for c in option_columns(spec, question).values()
    ]
    other = col_or_null(frame, f"{question.id}__other_text", pl.String())
    has_other = other.is_not_null() & (other.cast(pl.String).str.strip_chars() != "")
    return pl.any_horizontal(*ticks, has_other) if ticks else has_other


def shown(frame: pl.DataFrame, question: Question) -> pl.Expr:
    """True where the question's display condition held (always, when it has none)."""
    if question.shown_if is None:
        return pl.lit(True)
    cond = col_or_null(frame, question.shown_if.question, pl.String()).cast(pl.String)
    return cond.is_in(list(question.shown_if.in_)).fill_null(False)


def base_mask(
    frame: pl.DataFrame,
    spec: Questionnaire,
    question: Question,
    rule: str,
    column: str | None = None,
) -> pl.Expr:
    """Who is in the base under ``routed``/``shown``/``answered`` (population already applied)."""
    if rule == "routed":
        return pl.lit(True)
    if rule == "shown":
        return shown(frame, question)
    return shown(frame, question) & answered(frame, spec, question, column)


def hit(
    frame: pl.DataFrame,
    spec: Questionnaire,
    question: Question,
    codes: tuple[str, ...],
    column: str | None = None,
) -> pl.Expr:
    """True where the answer is one of ``codes`` (multi-choice: any of them ticked)."""
    if question.type == "multi":
        cols = option_columns(spec, question)
        ticks = [
            col_or_null(frame, cols[c], pl.Boolean()).fill_null(False) for c in codes if c in cols
        ]
        return pl.any_horizontal(*ticks) if ticks else pl.lit(False)
    return value_expr(frame, question, column).is_in(list(codes)).fill_null(False)


def wide_name(question: Question, item: str) -> str:
    """A single-choice loop question's mapped column for one item, e.g. interacted_education."""
    return f"{question.id}_{item}"


def ticked(frame: pl.DataFrame, spec: Questionnaire, question: Question) -> pl.Expr:
    """How many options of a multi-choice question were ticked."""
    cols = option_columns(spec, question).values()
    return pl.sum_horizontal(
        *[col_or_null(frame, c, pl.Boolean()).fill_null(False).cast(pl.Int32) for c in cols]
    )
