"""Published figures, transcribed from the report, as validated data.

``schemas/surveys/<survey>/published.yaml`` holds every survey figure the report prints, with its base and
citation, so that ``verify`` (and the synthetic reference generator) can compare computed tables
with what was published without anyone retyping a number. Validated on load; problems are raised
as ``SpecError`` naming the file and the field path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.core import config
from pipeline.core.errors import SpecError

Statistic = Literal[
    "frequency", "multi_response", "top3", "likert_net", "formality", "ratio", "scalar", "count"
]
# How a value quoted in words relates to its number: "nearly three quarters" -> 75, nearly.
Qualifier = Literal["nearly", "more_than", "at_most", "approx"]
GROUPS = (
    "education",
    "social_care",
    "health_care",
    "youth_justice",
    "youth_sector",
    "other_sectors",
    "allied",
)
_ID = re.compile(r"^(table|figure)-([0-9]|[A-Z])-[0-9]+$|^text-[0-9]+\.[0-9]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Value(_Model):
    """One printed number (or a small set: count, percentage, ratio) for one row of a figure."""

    group: str | None = Field(None, description="Loop item, 'allied', or null for the whole base")
    row: str = Field(description="Spec option code, net id (agree/neutral/disagree) or scalar id")
    label: str = Field(description="The row's wording as printed, typos kept")
    question: str | None = Field(
        None, description="Spec question when it differs from the figure's"
    )
    n: int | None = Field(None, ge=0, description="Printed count")
    pct: int | None = Field(None, ge=0, le=100, description="Printed whole-number percentage")
    ratio: float | None = Field(None, ge=0, description="Printed ratio (2 dp)")
    base: int | None = Field(None, gt=0, description="Per-value base when printed (n=77)")
    cite: str | None = Field(None, description="Per-value citation when it differs")
    qualifier: Qualifier | None = Field(None, description="Set when the value is quoted in words")

    @field_validator("group")
    @classmethod
    def _known_group(cls, v: str | None) -> str | None:
        if v is not None and v not in GROUPS:
            raise ValueError(f"unknown group '{v}' (one of {', '.join(GROUPS)})")
        return v

    @model_validator(mode="after")
    def _has_number(self) -> Value:
        if self.n is None and self.pct is None and self.ratio is None:
            raise ValueError(f"row '{self.row}': needs at least one of n, pct, ratio")
        return self


class Figure(_Model):
    """A published table, chart or paragraph, with the population and base it reports on."""

    id: str
    title: str
    cite: str
    population: str
    question: str | None = Field(None, description="The spec question the figure reports")
    base: int | None = Field(None, gt=0, description="Printed base (N=...), null when not printed")
    statistic: Statistic
    values: tuple[Value, ...] = Field(min_length=1)
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id_form(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"figure id '{v}' must look like table-F-1, figure-5-3 or text-6.20")
        return v


class Reconciliation(_Model):
    """Where published figures contradict each other, and what joinedup does about it."""

    figures: tuple[str, ...] = Field(min_length=1)
    issue: str
    resolution: str


class PublishedModel(_Model):
    survey: str
    source: str
    figures: tuple[Figure, ...]
    reconciliations: tuple[Reconciliation, ...] = ()

    @model_validator(mode="after")
    def _ids(self) -> PublishedModel:
        ids = [f.id for f in self.figures]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate figure ids: {dupes}")
        for r in self.reconciliations:
            unknown = [f for f in r.figures if f not in ids]
            if unknown:
                raise ValueError(f"reconciliation names unknown figures: {unknown}")
        return self


@dataclass(frozen=True)
class PublishedValue:
    """One published value, flattened with its figure's context (what verify compares)."""

    figure_id: str
    statistic: str
    question: str | None
    group: str | None
    row: str
    label: str
    n: int | None
    pct: int | None
    ratio: float | None
    base: int | None
    cite: str
    qualifier: str | None


class Published:
    """The validated published figures of one survey."""

    def __init__(self, model: PublishedModel, path: Path) -> None:
        self.model = model
        self.path = path

    @property
    def survey(self) -> str:
        return self.model.survey

    @property
    def figures(self) -> tuple[Figure, ...]:
        return self.model.figures

    def figure(self, figure_id: str) -> Figure:
        for f in self.model.figures:
            if f.id == figure_id:
                return f
        raise SpecError(f"no published figure '{figure_id}'", file=self.path)

    def values(self) -> Iterator[PublishedValue]:
        """Every value as a flat record; a value's own base/cite/question override the figure's."""
        for f in self.model.figures:
            for v in f.values:
                yield PublishedValue(
                    figure_id=f.id,
                    statistic=f.statistic,
                    question=v.question or f.question,
                    group=v.group,
                    row=v.row,
                    label=v.label,
                    n=v.n,
                    pct=v.pct,
                    ratio=v.ratio,
                    base=v.base if v.base is not None else f.base,
                    cite=f"{f.cite}; {v.cite}" if v.cite else f.cite,
                    qualifier=v.qualifier,
                )


def load_published(survey: str | Path) -> Published:
    path = config.resolve(survey, file="published.yaml")
    return Published(config.load(PublishedModel, path, "published figures"), path)
