"""Postcode area -> country, for the ``postcode_country`` statistic (Figure F-2).

Why a declared lookup and not a library: the report prints one number from the postcode question
(respondents working outside England), and the country of a UK postcode is, to a good
approximation, the country of its **area** (the letters before the first digit). That mapping
is small, stable and reviewable, so it lives as data in ``schemas/lookups/postcode_areas.yaml``
with a ``note`` on each area that crosses a border. Exact assignment would need the ONS Postcode
Directory, which the pipeline does not hold.

Postcodes are personal-ish data: nothing here returns or prints a postcode, only an area-derived
country code (as a polars expression) and counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, model_validator

from pipeline.core import config
from pipeline.core.paths import SCHEMAS

LOOKUP_PATH = SCHEMAS / "lookups" / "postcode_areas.yaml"
NOT_RECOGNISED = "not_recognised"
NOT_RECOGNISED_LABEL = "Not recognised (valid format, unknown postcode area)"
# Full UK postcode after upper-casing and removing spaces: area, district, inward code. Inward
# letters exclude C, I, K, M, O and V (Royal Mail never uses them).
POSTCODE_PATTERN = r"^([A-Z]{1,2})[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2}$"
_AREA_KEY = re.compile(r"^[A-Z]{1,2}$")
_CODE = re.compile(r"^[a-z][a-z_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaEntry(_Model):
    """One postcode area: its country code and, for cross-border areas, why it is approximate."""

    country: str
    note: str | None = None


class PostcodeAreasModel(_Model):
    lookup: Literal["postcode_areas"]
    version: str
    source: str
    countries: dict[str, str]
    areas: dict[str, AreaEntry]

    @model_validator(mode="after")
    def _consistent(self) -> PostcodeAreasModel:
        problems = [f"country code '{c}' must be lower_snake_case" for c in self.countries
                    if not _CODE.match(c) or c == NOT_RECOGNISED]  # fmt: skip
        for area, entry in self.areas.items():
            if not _AREA_KEY.match(area):
                problems.append(f"area '{area}' must be one or two upper-case letters")
            if entry.country not in self.countries:
                problems.append(f"area '{area}': unknown country '{entry.country}'")
        if problems:
            raise ValueError("; ".join(problems[:10]))
        return self


@dataclass(frozen=True)
class PostcodeAreas:
    """The validated lookup: area letters -> country code, and the row codes it can produce."""

    model: PostcodeAreasModel
    path: Path

    @property
    def country_of(self) -> dict[str, str]:
        return {area: e.country for area, e in self.model.areas.items()}

    @property
    def row_codes(self) -> tuple[str, ...]:
        """Every code a postcode can be assigned: each country, then 'not recognised'."""
        return (*self.model.countries, NOT_RECOGNISED)

    def label(self, code: str) -> str:
        return self.model.countries.get(code, NOT_RECOGNISED_LABEL)


@cache
def load_postcode_areas(path: Path = LOOKUP_PATH) -> PostcodeAreas:
    """Load and validate the lookup once per process; bad entries raise ``SpecError``."""
    return PostcodeAreas(config.load(PostcodeAreasModel, path, "postcode lookup"), Path(path))


def _normalised(value: pl.Expr) -> pl.Expr:
    """Upper case with every space removed: 'm1 1ae', 'M11AE' and 'M1  1AE' all become 'M11AE'."""
    return value.cast(pl.String).str.to_uppercase().str.replace_all(r"\s+", "")


def is_blank(value: pl.Expr) -> pl.Expr:
    return value.is_null() | (_normalised(value) == "")


def area(value: pl.Expr) -> pl.Expr:
    """The postcode area letters, or null when the answer is blank or not a UK-format postcode."""
    return _normalised(value).str.extract(POSTCODE_PATTERN, 1)


def country(value: pl.Expr, areas: PostcodeAreas) -> pl.Expr:
    """Country code of a valid postcode ('not_recognised' for an unknown area); null if invalid."""
    letters = area(value)
    mapped = letters.replace_strict(
        areas.country_of, default=NOT_RECOGNISED, return_dtype=pl.String
    )
    return pl.when(letters.is_not_null()).then(mapped)


@dataclass(frozen=True)
class Excluded:
    """Respondents left out of a postcode base: no answer, or an answer that is not a postcode."""

    blank: int
    invalid: int

    def note(self) -> str:
        return (
            f"Not in the base: {self.blank} respondent(s) left the postcode blank and "
            f"{self.invalid} gave an answer that is not a valid UK postcode."
        )


def excluded(frame: pl.DataFrame, column: str) -> Excluded:
    """Count blank and invalid postcodes in ``frame`` (a population); never returns the values."""
    if column not in frame.columns:
        return Excluded(blank=frame.height, invalid=0)
    value = pl.col(column)
    counts = frame.select(
        is_blank(value).sum().alias("blank"),
        (~is_blank(value) & area(value).is_null()).sum().alias("invalid"),
    ).row(0, named=True)
    return Excluded(blank=int(counts["blank"] or 0), invalid=int(counts["invalid"] or 0))
