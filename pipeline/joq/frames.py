"""Coding frames and the cross-month taxonomy, validated when loaded.

Why: the frame is the team's reviewed decision about what each code means; a typo in a theme id or a
duplicate code id would silently mis-code a month, so loading fails loudly, naming file and field.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.core import config
from pipeline.core.errors import Problems, SpecError
from pipeline.core.paths import CODING_FRAMES
from pipeline.joq.nonanswers import NonAnswerRules

FORMAT_DOC = "see docs/joq.md for the frame format"

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
OTHER = "other"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Theme(_Strict):
    id: str
    label: str
    description: str = ""
    sources: list[str] = Field(default_factory=list)


class Taxonomy(_Strict):
    version: int
    themes: list[Theme]

    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def label(self, theme_id: str) -> str:
        return next((t.label for t in self.themes if t.id == theme_id), theme_id)


class Sector(_Strict):
    code: str
    label: str


class SampleSpec(_Strict):
    size: int = Field(24, ge=1)
    seed: int = 20250131
    stratify_by: Literal["sector"] | None = None


class Exemplar(_Strict):
    response_id: str
    text: str


class Code(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    definition: str = ""
    theme: str
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    exemplars: list[Exemplar] = Field(default_factory=list)
    memo: str = ""  # the coders' working notes on this code (codebook sheet)
    replaces: list[str] = Field(default_factory=list)  # ids merged into or renamed to this one
    version: int = 1

    @field_validator("include", "exclude")
    @classmethod
    def _lower(cls, phrases: list[str]) -> list[str]:
        return [p.lower() for p in phrases if p.strip()]


class Thresholds(_Strict):
    """How scores become codes. Defaults were chosen by cross-validation on a human-coded sample
    only (see docs/joq.md, "Thresholds"); a frame or the CLI may override any of them."""

    accept: float = Field(0.65, ge=0, le=1)  # combined score needed to assign a code
    phrase_score: float = Field(0.6, ge=0, le=1)  # score an include-phrase hit gives
    exemplar_weight: float = Field(0.7, ge=0, le=1)  # exemplar vs definition similarity blend
    sim_floor: float = Field(0.25, ge=-1, le=1)  # cosine mapped to score 0
    sim_ceiling: float = Field(0.65, ge=-1, le=1)  # cosine mapped to score 1
    fewshot_weight: float = Field(0.8, ge=0, le=1)  # classifier vs similarity blend once trained
    fewshot_c: float = Field(10.0, gt=0)  # inverse regularisation of the few-shot classifier
    pseudo_weight: float = Field(1.0, ge=0, le=1)  # weight of phrase-labelled answers in training
    fallback: float = Field(0.3, ge=0, le=1)  # best model score that codes an answer no phrase hit
    min_training: int = Field(8, ge=2)  # human-coded answers needed before training
    max_codes: int = Field(3, ge=1)  # cap on codes per answer
    relative: float = Field(0.0, ge=0, le=1)  # drop a code scoring below relative * best
    proto_weight: float = Field(0.0, ge=0)  # scale of code-similarity features in the classifier
    sentence_weight: float = Field(0.0, ge=0, le=1)  # weight of the best single-sentence score
    definition_weight: float = Field(1.0, ge=0)  # "label. definition" as a training example
    # weak labels weighted by their phrases' precision on human-coded answers, smoothed by this
    # many virtual agreeing hits (0: every weak label weighs pseudo_weight)
    phrase_trust_prior: float = Field(2.0, ge=0)
    # earlier months' human-coded answers as training, codes mapped by taxonomy theme (0: off)
    history_weight: float = Field(0.75, ge=0, le=1)


class Frame(_Strict):
    month: str
    version: int = 1
    status: Literal["draft", "reviewed"] = "draft"
    question: str = ""
    sectors: list[Sector] = Field(default_factory=list)
    sample: SampleSpec = Field(default_factory=SampleSpec)
    codes: list[Code]
    thresholds: Thresholds = Field(default_factory=Thresholds)
    nonanswers: NonAnswerRules = Field(default_factory=NonAnswerRules)  # per-question list

    @field_validator("month")
    @classmethod
    def _month(cls, v: str) -> str:
        if not MONTH_RE.match(v):
            raise ValueError("month must look like 2025-01")
        return v

    def code(self, code_id: str) -> Code:
        return next(c for c in self.codes if c.id == code_id)

    def code_ids(self) -> list[str]:
        return [c.id for c in self.codes]

    def aliases(self) -> dict[str, str]:
        """Old code id -> current id, for decisions made before a merge or rename."""
        return {old: c.id for c in self.codes for old in c.replaces}


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    path = path or CODING_FRAMES / "taxonomy.yaml"
    tax = config.load(Taxonomy, path, "taxonomy", fix=FORMAT_DOC)
    dupes = [k for k, n in Counter(tax.ids()).items() if n > 1]
    if dupes:
        raise SpecError(f"duplicate theme ids: {', '.join(dupes)}", file=path, column="themes")
    if OTHER not in tax.ids():
        raise SpecError("the taxonomy needs an 'other' theme", file=path, column="themes")
    return tax


def frame_path(month: str, frames_dir: Path | None = None) -> Path:
    return config.resolve(month, frames_dir or CODING_FRAMES / "joq")


def parse_frame(data: object | config.Document, path: Path, taxonomy: Taxonomy) -> Frame:
    """Validate a frame's structure (a read ``Document`` gives line numbers), then the
    cross-field rules pydantic cannot see."""
    doc = data if isinstance(data, config.Document) else config.Document(path, b"", data, None)
    frame = config.validate(Frame, doc, "coding frame", fix=FORMAT_DOC)
    probs = Problems()
    for cid, n in Counter(frame.code_ids()).items():
        if n > 1:
            probs.add(f"code id '{cid}' is used {n} times", file=str(path), column="codes")
    themes = set(taxonomy.ids())
    for i, c in enumerate(frame.codes):
        if c.theme not in themes:
            probs.add(
                f"theme '{c.theme}' is not in the taxonomy",
                file=str(path),
                column=f"codes.{i}.theme",
                fix=f"use one of: {', '.join(sorted(themes))}",
            )
    # Answers are multi-label, so one answer may illustrate several codes; within a code an
    # exemplar id must be unique, and across codes one id must carry one text.
    texts: dict[str, str] = {}
    for i, c in enumerate(frame.codes):
        for rid, n in Counter(e.response_id for e in c.exemplars).items():
            if n > 1:
                probs.add(
                    f"exemplar '{rid}' appears {n} times",
                    file=str(path),
                    column=f"codes.{i}.exemplars",
                )
        for e in c.exemplars:
            if texts.setdefault(e.response_id, e.text) != e.text:
                probs.add(
                    f"exemplar '{e.response_id}' has different texts under different codes",
                    file=str(path),
                    column=f"codes.{i}.exemplars",
                )
    if OTHER not in frame.code_ids():
        probs.add(
            "the frame needs an 'other' code",
            file=str(path),
            column="codes",
            fix="add {id: other, label: Other, theme: other}",
        )
    for field, values in (
        ("sectors.code", [s.code for s in frame.sectors]),
        ("sectors.label", [s.label for s in frame.sectors]),
    ):
        for v, n in Counter(values).items():
            if n > 1:
                probs.add(f"'{v}' is used {n} times", file=str(path), column=field)
    probs.raise_if_any(SpecError, "invalid coding frame", file=path)
    return frame


def load_frame(
    month: str, frames_dir: Path | None = None, taxonomy: Taxonomy | None = None
) -> Frame:
    path = frame_path(month, frames_dir)
    tax = taxonomy or load_taxonomy((frames_dir or CODING_FRAMES / "joq").parent / "taxonomy.yaml")
    frame = parse_frame(config.read(path, "coding frame"), path, tax)
    if frame.month != month:
        raise SpecError(
            f"frame says month {frame.month} but is filed as {month}", file=path, column="month"
        )
    return frame
