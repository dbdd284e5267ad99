"""Non-answers: short replies that say nothing, kept out of coding bases, per question.

Why per question: "Nothing" says nothing to "what was good?", but to "what could we improve?" it is
an answer coders code (on real patient feedback 26 of 250 answers in one month, 21 coded as a
positive verdict). So the list is a default the frame can extend (``nonanswers.extra``) or cut
(``nonanswers.keep``), a code whose include phrase or exemplar is such a reply keeps it, the CLI
can add either for one import, and every import lists what it set aside (``nonanswers.csv``) so a
coder can see and review it. Pure functions; the importer calls :func:`reason` for each answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

# Normalised forms of replies that say nothing to any question.
DEFAULT: tuple[str, ...] = (
    "n/a",
    "na",
    "n a",
    "none",
    "nil",
    "no",
    "nope",
    "don't know",
    "dont know",
    "do not know",
    "not sure",
    "unsure",
    "no comment",
    "no comments",
    "-",
    "--",
    "nothing",
    "?",
    "idk",
    "pass",
    "no idea",
    ".",
    "x",
    "none really",
    "not applicable",
)


class NonAnswerRules(BaseModel):
    """The frame's ``nonanswers`` block: replies to add to the default list, and replies that
    are answers to this question (removed from it)."""

    model_config = ConfigDict(extra="forbid")

    extra: list[str] = Field(default_factory=list)
    keep: list[str] = Field(default_factory=list)

    @field_validator("extra", "keep")
    @classmethod
    def _norm(cls, v: list[str]) -> list[str]:
        return [normalise(x) for x in v if normalise(x)]


def normalise(text: str) -> str:
    """Lower case, curly apostrophes straightened, whitespace collapsed, trailing ``.!`` off."""
    t = " ".join(text.strip().lower().replace("\u2019", "'").split())
    return t.rstrip(".!").strip() or t


def listed(
    rules: NonAnswerRules | None = None,
    carried: Iterable[str] = (),
    extra: Iterable[str] = (),
    keep: Iterable[str] = (),
    default: Sequence[str] = DEFAULT,
) -> frozenset[str]:
    """The non-answer list for one question: the default plus the frame's and the command's
    extras, minus what the frame or command keeps and minus any reply a code carries
    (``carried``: the frame's include phrases and exemplar texts)."""
    rules = rules or NonAnswerRules()
    add = {normalise(x) for x in (*default, *rules.extra, *extra)} - {""}
    drop = {normalise(x) for x in (*rules.keep, *keep, *carried)}
    return frozenset(add - drop)


def carried_by_codes(includes: Iterable[Iterable[str]], exemplars: Iterable[str]) -> set[str]:
    """Replies a frame says carry a code: an include phrase or an exemplar text, normalised."""
    return {normalise(p) for ps in includes for p in ps} | {normalise(t) for t in exemplars}


def reason(text: str, nonanswers: Iterable[str] = DEFAULT) -> str | None:
    """Why an answer is excluded from coding bases (``empty``, ``non-answer``, ``no words``), or
    None when it is usable."""
    t = text.strip().lower().replace("\u2019", "'")
    if not t:
        return "empty"
    listed_set = nonanswers if isinstance(nonanswers, (set, frozenset)) else set(nonanswers)
    if normalise(t) in listed_set or t in listed_set:
        return "non-answer"
    if not re.search(r"[a-z0-9]", t):
        return "no words"
    return None


def reflag(responses: pl.DataFrame, nonanswers: Iterable[str]) -> pl.DataFrame:
    """Stored answers whose non-answer status differs under ``nonanswers``: response_id, usable,
    nonanswer (the new values)."""
    listed_set = frozenset(nonanswers)
    new = [reason(t, listed_set) for t in responses["text"].to_list()]
    return (
        responses.select("response_id", "nonanswer")
        .with_columns(pl.Series("new", new, dtype=pl.String))
        .filter(pl.col("nonanswer").ne_missing(pl.col("new")))
        .select(
            "response_id", pl.col("new").is_null().alias("usable"), pl.col("new").alias("nonanswer")
        )
    )


def summary_table(responses: pl.DataFrame) -> pl.DataFrame:
    """What an import set aside, for review: one row per distinct normalised reply with its
    reason and how many answers gave it (most frequent first). Needs ``text``, ``nonanswer``."""
    schema = {"reply": pl.String, "reason": pl.String, "answers": pl.UInt32}
    out = responses.filter(pl.col("nonanswer").is_not_null())
    if out.height == 0:
        return pl.DataFrame(schema=schema)
    return (
        out.select(
            pl.col("text").map_elements(normalise, return_dtype=pl.String).alias("reply"),
            pl.col("nonanswer").alias("reason"),
        )
        .group_by("reply", "reason")
        .agg(pl.len().alias("answers"))
        .sort(["answers", "reply"], descending=[True, False])
    )
