"""Representative, redacted quotes from the survey's open-text questions for the report.

Why this shape:

- **Deterministic.** Up to ``per_question`` answers per question are drawn from the medium-length
  ones (between the lower and upper quartile of word counts, so neither one-word answers nor
  essays) by ``random.Random(f"{seed}:{question}")`` over candidates sorted by pseudonym. The seed
  is recorded in the manifest's ``seeds``; same data, same seed, same quotes.
- **Redacted.** Every quote goes through ``Redactor(names=deny_list)``; the deny-list is the
  export's own name columns (``Ingested.names``), handed over in memory and never written.
- **Reviewable.** ``quote_exclusions.yaml`` (beside the questionnaire) lists respondent
  pseudonyms a reviewer kept out, with a reason, for every question or for one.
- **Disclosure-aware.** A quote from a sector with fewer than ``small_group`` usable respondents
  carries a ``warning``: the sector label plus the words may identify the person.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from pipeline.core import config
from pipeline.core.errors import Problems, SpecError
from pipeline.core.safety.redact import Redactor
from pipeline.survey.questionnaire import Questionnaire

QUOTE_QUESTIONS = (
    "benefits_text",
    "disadvantages_text",
    "barriers_text",
    "stopped_text",
    "effective_practice_text",
    "allied_benefits_text",
    "allied_practice_text",
)
DEFAULT_SEED = 20250206
PER_QUESTION = 3
SMALL_GROUP = 10
EXCLUSIONS_FILE = "quote_exclusions.yaml"
SECTOR_QUESTION = "sector"
_SHORT_LABEL = re.compile(r"\s+(?:including|e\.g\.|\()", re.IGNORECASE)


class SurveyDataLike(Protocol):
    @property
    def spec(self) -> Questionnaire: ...

    @property
    def responses(self) -> pl.DataFrame: ...


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exclusion(_Model):
    """A respondent a reviewer kept out of the quotes (all questions, or only ``question``)."""

    respondent: str = Field(pattern=r"^r_[0-9a-f]{12}$", description="Pseudonym, as in ledger.csv")
    reason: str = Field(min_length=3)
    question: str | None = None


class ExclusionsModel(_Model):
    survey: str
    key_fingerprint: str | None = Field(
        None,
        pattern=r"^kf_[0-9a-f]{16}$",
        description="manifest.json's key_fingerprint of the run the pseudonyms were read from",
    )
    excluded: tuple[Exclusion, ...] = ()

    def excludes(self, respondent: str, question: str) -> bool:
        return any(
            e.respondent == respondent and e.question in (None, question) for e in self.excluded
        )


def load_exclusions(
    spec: Questionnaire, path: Path | None = None, key_fingerprint: str | None = None
) -> ExclusionsModel:
    """The reviewer's exclusion list; none when the file does not exist. Bad entries: SpecError.

    Pseudonyms depend on the key: under another key every excluded respondent would silently
    reappear in the quotes. With ``key_fingerprint`` (the current key's), a non-empty list must
    record the same fingerprint or it is refused.
    """
    path = path or spec.directory / EXCLUSIONS_FILE
    if not path.exists():
        return ExclusionsModel(survey=spec.survey)
    model = config.load(ExclusionsModel, path, "quote exclusions")
    problems = Problems()
    if model.survey != spec.survey:
        problems.add(f"survey '{model.survey}' is not '{spec.survey}'", file=str(path))
    for i, e in enumerate(model.excluded):
        if e.question is not None and e.question not in QUOTE_QUESTIONS:
            problems.add(
                f"'{e.question}' is not a quoted question", file=str(path),
                column=f"excluded.{i}.question",
            )  # fmt: skip
    problems.raise_if_any(SpecError, "quote exclusions do not match the survey", file=path)
    if key_fingerprint is not None and model.excluded:
        _check_fingerprint(model, path, key_fingerprint)
    return model


def _check_fingerprint(model: ExclusionsModel, path: Path, current: str) -> None:
    if model.key_fingerprint is None:
        raise SpecError(
            "quote exclusions do not say which pseudonym key their pseudonyms came from",
            file=path,
            column="key_fingerprint",
            fix=f"if they were copied from a run made with the current key, add "
            f"`key_fingerprint: {current}` (the key_fingerprint in that run's manifest.json)",
        )
    if model.key_fingerprint != current:
        raise SpecError(
            f"quote exclusions were made with another pseudonym key ({model.key_fingerprint}, "
            f"now {current}): the excluded respondents would reappear in the quotes",
            file=path,
            column="key_fingerprint",
            fix="run with the key they were made with (JOINEDUP_PSEUDONYM_KEY or .joinedup_key), "
            f"or review the quotes again and record the new pseudonyms with key_fingerprint: "
            f"{current}",
        )


@dataclass(frozen=True)
class Quote:
    question: str
    question_text: str
    text: str
    source: str
    ref: str
    warning: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def short_label(label: str) -> str:
    """'Social care including children and social services' -> 'Social care'."""
    return _SHORT_LABEL.split(label, maxsplit=1)[0].strip() or label


def _groups(data: SurveyDataLike) -> tuple[dict[str, int], dict[str, str]]:
    """Usable respondents per sector code, and each sector's short label."""
    spec, frame = data.spec, data.responses
    if SECTOR_QUESTION not in {q.id for q in spec.model.questions}:
        return {}, {}  # a survey without a sector question: quotes carry no group
    labels = {o.code: short_label(o.label) for o in spec.options(spec.question(SECTOR_QUESTION))}
    if SECTOR_QUESTION not in frame.columns:
        return {}, labels
    counts = frame.group_by(SECTOR_QUESTION).len().drop_nulls(SECTOR_QUESTION)
    return {str(k): int(n) for k, n in counts.iter_rows()}, labels


def _candidates(frame: pl.DataFrame, qid: str, exclusions: ExclusionsModel) -> list[dict[str, Any]]:
    """Non-blank, non-excluded answers, one per distinct text, sorted by pseudonym."""
    has_sector = SECTOR_QUESTION in frame.columns
    cols = ["_respondent", "_route", qid] + ([SECTOR_QUESTION] if has_sector else [])
    text = pl.col(qid).cast(pl.String).str.strip_chars()
    rows = (
        frame.select(cols)
        .with_columns(text.alias(qid))
        .filter(text.is_not_null() & (text != ""))
        .with_columns(
            text.str.to_lowercase().str.replace_all(r"\s+", " ").alias("_key"),
            text.str.count_matches(r"\S+").alias("_words"),
        )
        .sort("_respondent")
        .unique(subset="_key", keep="first", maintain_order=True)
    )
    return [r for r in rows.to_dicts() if not exclusions.excludes(r["_respondent"], qid)]


def _medium(cands: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Answers between the lower and upper quartile of word counts (all, if fewer than k)."""
    words = sorted(c["_words"] for c in cands)
    if not words:
        return []
    lo, hi = words[len(words) // 4], words[(3 * len(words)) // 4]
    mid = [c for c in cands if lo <= c["_words"] <= hi]
    return mid if len(mid) >= k else cands


def _gist(text: str) -> str:
    """First five words with their letters sorted: the same answer with a swapped-letter typo,
    or with a sentence added, has the same gist, so two near-copies are never both quoted."""
    words = re.findall(r"\w+", text.casefold())[:5]
    return " ".join("".join(sorted(w)) for w in words)


def _distinct(pool: list[dict[str, Any]], qid: str, k: int) -> list[dict[str, Any]]:
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    for c in pool:
        gist = _gist(c[qid])
        if gist not in seen:
            seen.add(gist)
            chosen.append(c)
        if len(chosen) == k:
            break
    return chosen


def select_quotes(
    data: SurveyDataLike,
    *,
    names: Iterable[str] = (),
    exclusions: ExclusionsModel | None = None,
    seed: int = DEFAULT_SEED,
    per_question: int = PER_QUESTION,
    small_group: int = SMALL_GROUP,
    questions: Sequence[str] = QUOTE_QUESTIONS,
) -> list[Quote]:
    """Up to ``per_question`` redacted quotes per open-text question, in ``questions`` order."""
    spec, frame = data.spec, data.responses
    exclusions = exclusions or ExclusionsModel(survey=spec.survey)
    redactor = Redactor(names=names)
    counts, labels = _groups(data)
    routes = spec.routes
    out: list[Quote] = []
    for qid in questions:
        if qid not in frame.columns:
            continue
        pool = _medium(_candidates(frame, qid, exclusions), per_question)
        random.Random(f"{seed}:{qid}").shuffle(pool)
        for c in _distinct(pool, qid, per_question):
            if not labels:  # no sector question: no group to name, no group size to warn about
                out.append(
                    Quote(
                        question=qid,
                        question_text=spec.question(qid).text,
                        text=redactor.redact(c[qid]),
                        source="Respondent",
                        ref=c["_respondent"],
                        warning="",
                    )
                )
                continue
            sector = c.get(SECTOR_QUESTION)
            group = labels.get(sector, "Sector not given") if sector else "Sector not given"
            route = routes.get(c["_route"])
            who = f"{route.label if route else 'Survey'} respondent"
            single = route is not None and len(route.sectors) == 1 and route.sectors[0] == sector
            n = counts.get(sector, 0) if sector else 0
            warning = ""
            if n < small_group:
                people = "respondent" if n == 1 else "respondents"
                warning = (
                    f"{group}: {n} {people} — quote could identify the respondent; "
                    "check before publishing"
                )
            out.append(
                Quote(
                    question=qid,
                    question_text=spec.question(qid).text,
                    text=redactor.redact(c[qid]),
                    source=who if single else f"{who} ({group})",
                    ref=c["_respondent"],
                    warning=warning,
                )
            )
    return out
