"""Cleaning: declared rules decide each raw response's fate, and every fate goes in the ledger.

Rules, in order (all declared in the questionnaire spec's ``cleaning`` section):
1. ``duplicate_respondent_id`` - the same respondent id twice: the earliest submission is kept.
2. ``partial_response`` - nothing answered after the declared background block.
3. ``duplicate_identical_answers`` - identical answers to every question from the same collector:
   the earliest is kept (checked after 2, so empty partials are reported as partials).
4. ``recode_other_sector`` - an "Other (please specify)" sector whose text is in the reviewed
   recode table moves to that category; unreviewed texts are listed with a suggested category.
   Matching is exact after trimming spaces at both ends (``recode_key``): case, quotes, dashes
   and inner spacing must match what the reviewer saw, so a reviewed "youth offending team"
   does not silently cover "Youth Offending Team". Such near misses stay unreviewed and the
   review list names the reviewed text they differ from.

The ledger has exactly one row per raw response; the funnel reconciles raw = removed + usable and
usable = the sum of the routes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from pipeline.core import config
from pipeline.core.errors import SpecError
from pipeline.core.text import norm
from pipeline.survey.questionnaire import ALL_ROUTE, Option, Questionnaire

Suggester = Callable[[Sequence[str], Sequence[Option]], list[tuple[str, float]]]
LEDGER_COLUMNS = ["row", "respondent", "rule", "action", "before", "after"]
SM_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"
DATE_FORMATS = (SM_DATE_FORMAT, "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M")  # SurveyMonkey, Qualtrics


class RecodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str
    category: str
    reviewed_by: str
    reviewed_on: date
    note: str | None = None


class RecodeTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str | None = None
    targets: tuple[str, ...] | None = Field(
        None, description="option codes a text may be recoded to; suggestions come only from these"
    )
    entries: tuple[RecodeEntry, ...] = ()


def recode_key(text: str | None) -> str | None:
    """The documented matching rule: the exact text, trimmed at both ends, nothing else."""
    return None if text is None else text.strip()


def load_recodes(spec: Questionnaire) -> RecodeTable:
    """The reviewed recode table beside the spec; validated against the question's options."""
    rule = spec.model.cleaning.other_recode
    if rule is None:
        return RecodeTable()
    path = spec.directory / rule.table
    if not path.exists():
        return RecodeTable()
    table = config.load(RecodeTable, path, "recode table")
    if table.question not in (None, rule.question):
        raise SpecError(
            f"recode table is for question '{table.question}', the spec recodes '{rule.question}'",
            file=path,
        )
    codes = {o.code for o in spec.options(spec.question(rule.question))}
    stray = sorted(set(table.targets or ()) - codes)
    if stray:
        raise SpecError(
            f"recode targets {stray} are not options of '{rule.question}' ({sorted(codes)})",
            file=path,
            fix="list option codes of the question under targets",
        )
    allowed = set(table.targets) if table.targets is not None else codes
    bad = [e for e in table.entries if e.category not in allowed]
    if bad:
        raise SpecError(
            f"recode category '{bad[0].category}' is not an allowed target of '{rule.question}' "
            f"({sorted(allowed)})",
            file=path,
            fix="use one of the listed option codes (targets: in the same file lists them)",
        )
    seen: dict[str, str] = {}
    for e in table.entries:
        key = recode_key(e.text) or ""
        if seen.setdefault(key, e.category) != e.category:
            raise SpecError(
                f"the same text is recoded to two categories: {e.category}, {seen[key]}",
                file=path,
            )
    return table


def suggestion_targets(spec: Questionnaire, recodes: RecodeTable) -> list[Option]:
    """The options a suggestion may name: the table's targets, never 'other' itself."""
    rule = spec.model.cleaning.other_recode
    if rule is None:
        return []
    allowed = set(recodes.targets) if recodes.targets is not None else None
    return [
        o
        for o in spec.options(spec.question(rule.question))
        if o.code != "other" and not o.other_text and (allowed is None or o.code in allowed)
    ]


@dataclass(frozen=True)
class Cleaned:
    usable: pl.DataFrame
    ledger: pl.DataFrame
    funnel: pl.DataFrame
    other_review: pl.DataFrame  # "Other" texts: reviewed or not, with a suggested category


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """Earliest submission first: start time when it parses, then row number."""
    started = pl.coalesce(
        pl.col("_started").str.strptime(pl.Datetime, fmt, strict=False) for fmt in DATE_FORMATS
    )
    return frame.with_columns(
        _order=pl.struct(started.fill_null(pl.datetime(9999, 1, 1)), pl.col("_row")).rank("ordinal")
    )


def flag_removals(frame: pl.DataFrame, spec: Questionnaire) -> pl.DataFrame:
    """Add ``_rule`` (removal rule or null) and ``_detail`` columns; no rows are dropped."""
    rules = spec.model.cleaning
    answers = [c.name for c in spec.columns]
    beyond = [
        c for b in spec.blocks_after(rules.partial_after_block) for c in spec.block_columns(b)
    ]
    f = _ordered(frame)
    first_by_id = pl.col("_row").sort_by("_order").first().over("_respondent")
    dup_id = (pl.col("_order") != pl.col("_order").min().over("_respondent")) & pl.lit(
        rules.duplicates.same_respondent_id
    )
    partial = (
        ~pl.any_horizontal([pl.col(c).is_not_null() for c in beyond]) if beyond else pl.lit(False)
    )
    f = f.with_columns(
        _rule=pl.when(dup_id)
        .then(pl.lit("duplicate_respondent_id"))
        .when(partial)
        .then(pl.lit("partial_response")),
        _detail=pl.when(dup_id)
        .then(pl.format("same respondent id as row {}", first_by_id))
        .when(partial)
        .then(pl.lit(_partial_words(rules.partial_after_block))),
    )
    if rules.duplicates.identical_answers_same_collector:
        f = _flag_identical(f, ["_collector", *answers])
    return f.drop("_order")


def _flag_identical(f: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Rule 3 on the rows that can be identical: a window over every answer column of every
    row cost 8 s and 2 GB at 1M rows. Identical rows have equal row hashes, so only rows that
    share a hash with another row are compared exactly: the hash only narrows, never decides."""
    idx = _row_hash(f, keys).is_duplicated().arg_true()
    if idx.len() == 0:
        return f
    cand = f[idx]
    live = pl.col("_rule").is_null()
    first_live = pl.col("_order").filter(live).min().over(keys)
    first_row = pl.col("_row").filter(pl.col("_order") == first_live).first().over(keys)
    same = live & (pl.col("_order") != first_live)
    cand = cand.select(
        _rule=pl.when(same).then(pl.lit("duplicate_identical_answers")).otherwise(pl.col("_rule")),
        _detail=pl.when(same)
        .then(pl.format("identical answers to row {}, same collector", first_row))
        .otherwise(pl.col("_detail")),
    )
    return f.with_columns(
        f["_rule"].scatter(idx, cand["_rule"]), f["_detail"].scatter(idx, cand["_detail"])
    )


def _row_hash(f: pl.DataFrame, keys: list[str]) -> pl.Series:
    """One hash per row over ``keys``, combined column by column: hashing them as one struct or
    with ``hash_rows`` built a copy of all the columns first (0.9 GB at 1M rows)."""
    h = f[keys[0]].hash()
    for c in keys[1:]:
        h = (h * 1_099_511_628_211) ^ f[c].hash()  # FNV prime; UInt64 arithmetic wraps
    return h


def _partial_words(block: str | None) -> str:
    return (
        "nothing answered at all" if block is None else f"nothing answered after the {block} block"
    )


def recode_other(
    usable: pl.DataFrame, spec: Questionnaire, recodes: RecodeTable, suggest: Suggester | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply the reviewed recode table; list every "Other" text with its status and a suggestion."""
    rule = spec.model.cleaning.other_recode
    if rule is None:
        return usable.with_columns(_sector_before=pl.lit(None, pl.String)), _empty_review()
    q, text_col = rule.question, f"{rule.question}__other_text"
    lookup = {recode_key(e.text): e.category for e in recodes.entries}
    is_other = pl.col(q) == "other"
    category = (
        pl.col(text_col)
        .str.strip_chars()
        .replace_strict(lookup, default=None, return_dtype=pl.String)
    )
    out = usable.with_columns(_sector_before=pl.col(q), _reviewed=is_other & category.is_not_null())
    out = out.with_columns(
        pl.when(is_other & category.is_not_null()).then(category).otherwise(pl.col(q)).alias(q)
    )
    others = out.filter(pl.col("_sector_before") == "other")
    options = suggestion_targets(spec, recodes)
    open_rows = ~others["_reviewed"]
    texts = others.filter(open_rows)[text_col].fill_null("").to_list()
    distinct = sorted(set(texts))
    found = (
        dict(zip(distinct, suggest(distinct, options), strict=True))
        if suggest and distinct and options
        else {}
    )
    floor = rule.min_similarity
    picks = [
        found.get(t, (None, None)) if o else (None, None)
        for t, o in zip(_texts(others, text_col), open_rows, strict=True)
    ]
    picks = [(c, v) if v is not None and v >= floor else (None, v) for c, v in picks]
    near = {norm(e.text): e.text for e in recodes.entries}
    review = others.select(
        pl.col("_row").alias("row"),
        pl.col("_respondent").alias("respondent"),
        pl.col(text_col).alias("text"),
        pl.when(pl.col("_reviewed"))
        .then(pl.lit("reviewed"))
        .otherwise(pl.lit("unreviewed"))
        .alias("status"),
        pl.col(q).alias("category"),
    ).with_columns(
        suggested=pl.Series([c for c, _ in picks], dtype=pl.String),
        similarity=pl.Series(
            [None if v is None else round(float(v), 3) for _, v in picks], dtype=pl.Float64
        ),
        note=pl.Series(
            [
                _near_note(t, near) if o else None
                for t, o in zip(_texts(others, text_col), open_rows, strict=True)
            ],
            dtype=pl.String,
        ),
    )
    return out.drop("_reviewed"), review


def _texts(frame: pl.DataFrame, column: str) -> list[str]:
    return frame[column].fill_null("").to_list()


def _near_note(text: str, near: dict[str, str]) -> str | None:
    """Name the reviewed text an unreviewed one differs from only in case, quotes or spacing."""
    hit = near.get(norm(text))
    return (
        None
        if hit is None
        else f"differs from reviewed '{hit}' only in case, quotes, dashes or spacing"
    )


def unreviewed(review: pl.DataFrame) -> pl.DataFrame:
    """Distinct unreviewed texts with how many answers each, what they were counted as, and the
    suggestion: what the CLI summary and the report's section show."""
    return (
        review.filter(pl.col("status") == "unreviewed")
        .with_columns(pl.col("text").fill_null(""))
        .group_by("text", maintain_order=True)
        .agg(
            answers=pl.len(),
            counted_as=pl.col("category").first(),
            suggested=pl.col("suggested").first(),
            similarity=pl.col("similarity").first(),
            note=pl.col("note").first(),
        )
        .sort(["answers", "text"], descending=[True, False])
    )


def _empty_review() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "row": pl.Int64,
            "respondent": pl.String,
            "text": pl.String,
            "status": pl.String,
            "category": pl.String,
            "suggested": pl.String,
            "similarity": pl.Float64,
            "note": pl.String,
        }
    )


def clean(
    frame: pl.DataFrame, spec: Questionnaire, recodes: RecodeTable, suggest: Suggester | None = None
) -> Cleaned:
    flagged = flag_removals(frame, spec)
    usable, review = recode_other(flagged.filter(pl.col("_rule").is_null()), spec, recodes, suggest)
    if spec.model.routing is None:  # one route: every usable respondent
        rq = None
        usable = usable.with_columns(_route=pl.lit(ALL_ROUTE))
    else:
        rq = spec.model.routing.question
        usable = usable.with_columns(
            _route=pl.col(rq).replace_strict(
                spec.route_of_sector(), default=None, return_dtype=pl.String
            )
        )
    removed = flagged.filter(pl.col("_rule").is_not_null()).select(
        pl.col("_row").alias("row"),
        pl.col("_respondent").alias("respondent"),
        pl.col("_rule").alias("rule"),
        pl.lit("removed").alias("action"),
        pl.lit("").alias("before"),
        pl.col("_detail").alias("after"),
    )
    if rq is None:
        kept = usable.select(
            pl.col("_row").alias("row"),
            pl.col("_respondent").alias("respondent"),
            pl.lit("usable").alias("rule"),
            pl.lit("kept").alias("action"),
            pl.lit("").alias("before"),
            pl.lit("").alias("after"),
        )
    else:
        recoded = pl.col("_sector_before") != pl.col(rq)
        kept = usable.select(
            pl.col("_row").alias("row"),
            pl.col("_respondent").alias("respondent"),
            pl.when(recoded)
            .then(pl.lit("recode_other_sector"))
            .otherwise(pl.lit("usable"))
            .alias("rule"),
            pl.format("kept: {} route", pl.col("_route")).alias("action"),
            pl.format("{}={}", pl.lit(rq), pl.col("_sector_before")).alias("before"),
            pl.format("{}={}", pl.lit(rq), pl.col(rq)).alias("after"),
        )
    ledger = pl.concat([removed, kept]).sort("row")
    usable = usable.drop("_rule", "_detail", "_sector_before")
    return Cleaned(usable, ledger, funnel(ledger, usable, review, spec), review)


def funnel(
    ledger: pl.DataFrame, usable: pl.DataFrame, review: pl.DataFrame, spec: Questionnaire
) -> pl.DataFrame:
    """The published funnel as (step, count): raw, removals by reason, usable, recodes, routes."""

    def n_rule(rule: str) -> int:
        return ledger.filter(pl.col("rule") == rule).height

    steps = [
        ("raw", ledger.height),
        (
            "removed_duplicate",
            n_rule("duplicate_respondent_id") + n_rule("duplicate_identical_answers"),
        ),
        ("removed_partial", n_rule("partial_response")),
        ("usable", usable.height),
    ]
    if spec.model.cleaning.other_recode is not None:
        steps += [
            ("other_sector", review.height),
            ("other_recoded", n_rule("recode_other_sector")),
        ]
    if spec.model.routing is not None:  # without routing every usable respondent is on 'all'
        steps += [
            (f"route_{r}", usable.filter(pl.col("_route") == r).height)
            for r in spec.model.routing.routes
        ]
    return pl.DataFrame(steps, schema={"step": pl.String, "count": pl.Int64}, orient="row")


WORKING = "working"  # row-level files for the analyst, never for publication


def write_ledger_outputs(cleaned: Cleaned, out: Path) -> None:
    """Edge I/O, formula-safe: the funnel (aggregate, publishable) in ``out``; the ledger and the
    "Other" review list (one row per respondent) in ``out/working/``, their text redacted."""
    from pipeline.core.safety.export import write_csv
    from pipeline.core.safety.redact import redact_columns

    write_csv(cleaned.funnel, out / "funnel.csv")
    write_csv(cleaned.ledger.select(LEDGER_COLUMNS), out / WORKING / "ledger.csv")
    write_csv(redact_columns(cleaned.other_review, ["text"]), out / WORKING / "other_review.csv")
