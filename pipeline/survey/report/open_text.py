"""Every open-text answer listed for coding: one row per respondent x open question, redacted.

The report quotes at most three answers per question; a coder needs them all. Names from the
export's name columns, emails, phone numbers, postcodes and web addresses are replaced by
placeholders (``pipeline.core.safety.redact``) before anything is written, and respondents appear
only by pseudonym.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipeline.core.safety.redact import Redactor
from pipeline.survey.questionnaire import Questionnaire

COLUMNS = ("row", "respondent", "question", "question_text", "text")


def open_text_answers(
    responses: pl.DataFrame, spec: Questionnaire, *, names: Iterable[str] = ()
) -> pl.DataFrame:
    """Non-blank answers to the spec's open-text questions, in export row order, redacted."""
    redactor = Redactor(names=names)
    parts = []
    for q in spec.model.questions:
        if q.type != "text" or q.loop or q.id not in responses.columns:
            continue
        text = pl.col(q.id).cast(pl.String).str.strip_chars()
        part = responses.filter(text.is_not_null() & (text != "")).select(
            pl.col("_row").alias("row"),
            pl.col("_respondent").alias("respondent"),
            pl.lit(q.id).alias("question"),
            pl.lit(q.text).alias("question_text"),
            text.alias("text"),
        )
        parts.append(part)
    if not parts:
        return pl.DataFrame(schema={c: pl.Int64 if c == "row" else pl.String for c in COLUMNS})
    out = pl.concat(parts).sort("row", "question")
    return out.with_columns(
        pl.Series("text", [redactor.redact(t) for t in out["text"].to_list()], dtype=pl.String)
    )
