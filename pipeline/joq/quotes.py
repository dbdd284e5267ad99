"""Which answers may be quoted, and every quote per code (the month report's appendix).

Why one module: the consent rule must be the same in the report body, the appendix and the
``coded_answers`` export. The rule (``consent`` is ``joq_responses.consent``: true, false, or null):

- a respondent who said no is never quoted;
- when the month's export asked for consent (any respondent has a value), only a yes is quoted; a
  blank is treated as a no, since the question was put and not answered;
- when the export had no consent question at all (every value null, or no column), answers are
  quotable under the survey's standing terms, as Annex G quotes JOQ respondents, and the report says
  so (``QUOTE_WHEN_NOT_ASKED``);
- a reviewer's ``exclude_quote`` always withholds.

Quotes are redacted for publication; the ones from a respondent in a small sector or region group
carry a warning to check before quoting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.core.safety.redact import Redactor
from pipeline.joq.frames import Frame
from pipeline.joq.report import SMALL_GROUP, group_sizes

QUOTE_WHEN_NOT_ASKED = True  # the project's rule for an export without a consent question
YES, NO, UNANSWERED, NOT_ASKED = "yes", "no", "not answered", "not asked"


@dataclass(frozen=True)
class Quote:
    code_id: str
    response_id: str
    text: str  # redacted
    warning: str


def consent_asked(responses: pl.DataFrame) -> bool:
    """True when the export had a consent question (some respondent has a consent value)."""
    return "consent" in responses.columns and responses["consent"].is_not_null().any()


def consent_status(responses: pl.DataFrame) -> pl.Series:
    """Per row: ``yes``, ``no``, ``not answered`` (asked, left blank) or ``not asked``."""
    if not consent_asked(responses):
        return pl.Series("consent", [NOT_ASKED] * responses.height, dtype=pl.String)
    return responses.select(
        pl.when(pl.col("consent").is_null())
        .then(pl.lit(UNANSWERED))
        .when(pl.col("consent"))
        .then(pl.lit(YES))
        .otherwise(pl.lit(NO))
        .alias("consent")
    )["consent"]


def quotable(
    responses: pl.DataFrame, excluded: set[str], when_not_asked: bool = QUOTE_WHEN_NOT_ASKED
) -> pl.Series:
    """Per row: may this answer be quoted (consent rule above, minus reviewer exclusions)."""
    status = consent_status(responses)
    allowed = (status == YES) | ((status == NOT_ASKED) & when_not_asked)
    kept = ~responses["response_id"].is_in(sorted(excluded))
    return (allowed & kept & responses["usable"]).alias("quotable")


def consent_summary(usable: pl.DataFrame, excluded: set[str]) -> dict:
    """Counts for the report's statement of the rule, over usable answers."""
    status = consent_status(usable).value_counts()
    counts = dict(zip(status["consent"], status["count"], strict=True))
    return {
        "asked": consent_asked(usable),
        "when_not_asked": QUOTE_WHEN_NOT_ASKED,
        "yes": int(counts.get(YES, 0)),
        "no": int(counts.get(NO, 0)),
        "unanswered": int(counts.get(UNANSWERED, 0)),
        "not_asked": int(counts.get(NOT_ASKED, 0)),
        "excluded": len(excluded & set(usable["response_id"].to_list())),
        "quotable": int(quotable(usable, excluded).sum()),
    }


def rule_text(summary: dict) -> str:
    """The consent rule as applied this month, in one or two sentences for the report."""
    excluded = f" {summary['excluded']} excluded by a reviewer." if summary["excluded"] else ""
    if summary["asked"]:
        return (
            f"Quotes only from respondents who agreed to be quoted ({summary['yes']} yes; "
            f"{summary['no']} no and {summary['unanswered']} blank are never quoted).{excluded}"
        )
    if summary["when_not_asked"]:
        return (
            "This month\u2019s export has no consent question, so answers are quoted under the "
            "survey\u2019s standing terms for anonymous quotation; add a consent column to the export "
            f"to honour each respondent\u2019s choice.{excluded}"
        )
    return f"This month\u2019s export has no consent question, so no answer is quoted.{excluded}"


def ranked_members(
    usable: pl.DataFrame, final: pl.DataFrame, emb: np.ndarray, frame: Frame
) -> dict[str, list[int]]:
    """Per code, row positions in ``usable`` of its answers, closest to the code's centroid first
    (ties by position); rows of ``emb`` align with ``usable``."""
    pos = {r: i for i, r in enumerate(usable["response_id"].to_list())}
    out: dict[str, list[int]] = {}
    for c in frame.codes:
        members = sorted(
            {pos[r] for r in final.filter(pl.col("code_id") == c.id)["response_id"] if r in pos}
        )
        if not members:
            out[c.id] = []
            continue
        centroid = emb[members].mean(axis=0)
        sims = emb[members] @ centroid
        out[c.id] = [members[k] for k in np.lexsort((np.array(members), -sims))]
    return out


def code_quotes(
    usable: pl.DataFrame,
    final: pl.DataFrame,
    emb: np.ndarray,
    frame: Frame,
    excluded: set[str],
    redactor: Redactor,
) -> dict[str, dict]:
    """Per code: ``quotes`` (every quotable answer, most central first, redacted) and
    ``withheld`` (coded answers not quotable: no consent, or excluded by a reviewer)."""
    ok = quotable(usable, excluded).to_list()
    ids, texts = usable["response_id"].to_list(), usable["text"].to_list()
    sectors, regions = usable["sectors"].to_list(), usable["region"].to_list()
    sec_n, reg_n = group_sizes(usable)
    labels = {s.code: s.label for s in frame.sectors}
    out: dict[str, dict] = {}
    for code_id, ranked in ranked_members(usable, final, emb, frame).items():
        quotes = []
        for i in (i for i in ranked if ok[i]):
            small = [labels.get(s, s) for s in sectors[i] if sec_n.get(s, 0) < SMALL_GROUP]
            if regions[i] and reg_n.get(regions[i], 0) < SMALL_GROUP:
                small.append(f"region {regions[i]}")
            warning = (
                f"fewer than {SMALL_GROUP} respondents in: {', '.join(small)}" if small else ""
            )
            quotes.append(Quote(code_id, ids[i], redactor.redact(texts[i]), warning))
        out[code_id] = {
            "quotes": quotes,
            "coded": len(ranked),
            "withheld": len(ranked) - len(quotes),
        }
    return out
