"""Declared tables: which published table or figure each output reproduces, and how.

Every survey table is data in ``schemas/surveys/<survey>/tables.yaml``: its population (route,
background filter), its **base rule** (who is in the denominator), its statistic and its rows. Base
definitions are where survey tables usually go wrong, so they are first-class fields here, are
checked against the questionnaire when loaded, and are printed beside every output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.core import config
from pipeline.core.errors import Problems, SpecError
from pipeline.survey.questionnaire import Question, Questionnaire
from pipeline.survey.tables.postcodes import load_postcode_areas

BaseRule = Literal["routed", "shown", "answered"]
Statistic = Literal[
    "frequency",
    "multi_response",
    "top3",
    "likert",
    "likert_net",
    "formality",
    "ratio",
    "cooccurrence",
    "count_at_least",
    "crosstab",
    "scalar",
    "postcode_country",
]
Measure = Literal["frequency", "multi_response", "top3", "likert_net", "formality", "scalar"]
ChartKind = Literal["bar", "stacked", "none"]
ITEM = "item"
TABLE_ID = re.compile(
    r"^(table|figure)-[0-9A-Z]+-[0-9]+$|^text-[0-9]+\.[0-9]+[a-z]?$|^text-fn[0-9]+$"
)
BASE_WORDS: dict[str, str] = {
    "routed": "everyone the population routed to the question",
    "shown": "those for whom the question's display condition held (asked it)",
    "answered": "those who gave any answer to the question",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RowDef(_Model):
    """One output row: a stable id, its label, and the answer codes that count towards it."""

    id: str
    label: str | None = None
    codes: tuple[str, ...] | None = Field(None, description="Codes counted; default (id,)")
    where: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Row-level base filter on background questions (crosstab)"
    )

    @property
    def code_list(self) -> tuple[str, ...]:
        return self.codes if self.codes is not None else (self.id,)


class Band(_Model):
    """A grouping level made of several codes of a background question (e.g. 'under 5 years')."""

    id: str
    label: str
    codes: tuple[str, ...]


class Population(_Model):
    """Who the table is about, before any base rule: a route and background filters."""

    route: str | None = None
    filter: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    label: str = Field(description="Plural noun phrase, e.g. 'youth-sector respondents'")


class ExtraGroup(_Model):
    """A further group from another question with the same rows (e.g. allied respondents)."""

    group: str
    label: str
    question: str
    population: Population
    base: BaseRule
    base_text: str
    rows: tuple[RowDef, ...] | None = None


class RatioSpec(_Model):
    """Numerator codes ÷ denominator codes of ``question``, one row per option of ``by``.

    ``n`` is the numerator count, ``base`` every unit in the row's base (all answers), ``ratio``
    numerator ÷ denominator. ``exactly_one``: a unit counts for a purpose only when that purpose is
    the only option ticked in ``by`` (see docs/tables.md for why Figure 5-3 needs this).
    """

    by: str = Field(description="Multi-choice loop question whose options are the rows")
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    exactly_one: bool = False


class Restrict(_Model):
    """Keep only units whose answer to a multi-choice ``question`` is among ``codes``."""

    question: str
    codes: tuple[str, ...]
    exactly_one: bool = Field(False, description="...and exactly one option ticked")


class CooccurrenceSpec(_Model):
    """Share of those answering ``answer`` for a given item who also did so for ``target``."""

    given: tuple[str, ...]
    target: str
    answer: tuple[str, ...] = ("yes",)
    id: str = Field("any", description="Row id for 'any of the given items'")


class AtLeastSpec(_Model):
    """Number of loop items with ``answer``; rows at_least_<k> and fewer_than_<k>."""

    k: int = Field(ge=1)
    answer: tuple[str, ...] = ("yes",)
    id: str | None = Field(None, description="Row id for 'at least k'; default at_least_<k>")


class TableSpec(_Model):
    id: str
    title: str
    published: str | None = Field(None, description="Published figure id this reproduces")
    also_published: tuple[str, ...] = Field((), description="Paragraphs quoting the same values")
    question: str
    column: str | None = Field(None, description="Override the value column, e.g. _sector")
    population: Population
    base: BaseRule
    base_text: str = Field(description="Who the base is, '{item}' replaced by the loop item label")
    statistic: Statistic
    measure: Measure | None = Field(None, description="For crosstab: the statistic tabulated")
    unit: Literal["respondents", "interactions"] = "respondents"
    group_by: tuple[str, ...] = ()
    group: str | None = Field(None, description="Fixed group id for an ungrouped table (allied)")
    group_label: str | None = None
    restrict: Restrict | None = None
    bands: dict[str, tuple[Band, ...]] = Field(default_factory=dict)
    items: tuple[str, ...] | None = None
    rows: tuple[RowDef, ...] | None = None
    exclusive: bool
    chart: ChartKind = "bar"
    source: str
    notes: tuple[str, ...] = ()
    extra_groups: tuple[ExtraGroup, ...] = ()
    ratio: RatioSpec | None = None
    cooccurrence: CooccurrenceSpec | None = None
    at_least: AtLeastSpec | None = None

    @model_validator(mode="after")
    def _shape(self) -> TableSpec:
        if not TABLE_ID.match(self.id):
            raise ValueError(f"id '{self.id}' must look like table-F-1, figure-5-3 or text-6.20")
        needs = {
            "ratio": self.ratio,
            "cooccurrence": self.cooccurrence,
            "count_at_least": self.at_least,
        }
        for stat, block in needs.items():
            if (self.statistic == stat) != (block is not None):
                raise ValueError(f"statistic '{stat}' and its '{stat}' parameters go together")
        if (self.statistic == "crosstab") != (self.measure is not None):
            raise ValueError("'measure' is required for crosstab and only for crosstab")
        by_var = [g for g in self.group_by if g != ITEM] or [r for r in self.rows or () if r.where]
        if self.statistic == "crosstab" and not by_var:
            raise ValueError(
                "crosstab needs a background variable in group_by or rows with 'where'"
            )
        if self.group is not None and self.group_by:
            raise ValueError("'group' fixes the group of an ungrouped table; drop it or group_by")
        if self.effective_statistic == "scalar" and not self.rows:
            raise ValueError("scalar tables declare their rows (id, label, codes)")
        if self.statistic == "postcode_country" and self.base != "answered":
            raise ValueError("postcode_country counts valid postcodes only: use base 'answered'")
        return self

    @property
    def effective_statistic(self) -> str:
        """The statistic actually computed (a crosstab computes its measure by group)."""
        return self.measure if self.statistic == "crosstab" and self.measure else self.statistic

    @property
    def by_item(self) -> bool:
        return ITEM in self.group_by


class Defaults(_Model):
    low_base: int = 30
    suppress_base: int = 10
    min_cell: int = 10


class TablesModel(_Model):
    survey: str
    version: str
    defaults: Defaults = Defaults()
    tables: tuple[TableSpec, ...]


class TablesSpec:
    """The validated table declarations of one survey, in the report's order."""

    def __init__(self, model: TablesModel, path: Path) -> None:
        self.model = model
        self.path = path

    @property
    def tables(self) -> tuple[TableSpec, ...]:
        return self.model.tables

    @property
    def defaults(self) -> Defaults:
        return self.model.defaults

    def __iter__(self) -> Iterator[TableSpec]:
        return iter(self.model.tables)

    def table(self, table_id: str) -> TableSpec:
        for t in self.model.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)

    def published_map(self) -> dict[str, list[str]]:
        """Published figure id -> the table ids that reproduce it (main table first)."""
        out: dict[str, list[str]] = {}
        for t in self.model.tables:
            if t.published:
                out.setdefault(t.published, []).append(t.id)
        for t in self.model.tables:
            for fig in t.also_published:
                out.setdefault(fig, []).append(t.id)
        return out


def load_tables(survey: str | Path, questionnaire: Questionnaire | None = None) -> TablesSpec:
    """Load and validate ``tables.yaml``, then check every reference against the questionnaire.

    Without ``questionnaire`` the ``questionnaire.yaml`` beside the tables file is loaded.
    """
    path = config.resolve(survey, file="tables.yaml")
    if questionnaire is None:
        from pipeline.survey.questionnaire import load_questionnaire

        questionnaire = load_questionnaire(path.parent / "questionnaire.yaml")
    model = config.load(TablesModel, path, "tables spec")
    check_against(model, questionnaire, path)
    return TablesSpec(model, path)


def check_against(model: TablesModel, q: Questionnaire, path: Path) -> None:
    """Every table must refer to real questions, options, items and routes; collect all problems."""
    problems = Problems()
    ids = [t.id for t in model.tables]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.add(f"duplicate table id '{dup}'", file=str(path), column="tables.id")
    pubs = [t.published for t in model.tables if t.published]
    for dup in sorted({p for p in pubs if pubs.count(p) > 1}):
        problems.add(
            f"published id '{dup}' is reproduced twice", file=str(path), column="published"
        )
    for i, t in enumerate(model.tables):
        for message, field in _table_problems(t, q):
            problems.add(f"table '{t.id}': {message}", file=str(path), column=f"tables.{i}.{field}")
    problems.raise_if_any(SpecError, "tables spec does not match the questionnaire", file=path)


def _question(q: Questionnaire, qid: str) -> Question | None:
    try:
        return q.question(qid)
    except KeyError:
        return None


def _table_problems(t: TableSpec, q: Questionnaire) -> Iterator[tuple[str, str]]:
    question = _question(q, t.question)
    if question is None:
        yield f"unknown question '{t.question}'", "question"
        return
    yield from _population_problems(t.population, question, q, "population")
    stat = t.effective_statistic
    choice_ok = {
        "frequency": ("single", "likert"),
        "likert": ("likert",),
        "likert_net": ("likert",),
        "formality": ("single",),
        "multi_response": ("multi",),
        "top3": ("multi",),
        "scalar": ("single", "likert", "multi"),
        "ratio": ("single",),
        "cooccurrence": ("single",),
        "count_at_least": ("single",),
        "postcode_country": ("postcode",),
    }
    if question.type not in choice_ok[stat]:
        yield f"statistic '{stat}' cannot use a {question.type} question", "statistic"
    if stat in ("ratio", "cooccurrence", "count_at_least", "formality") and not question.loop:
        yield f"statistic '{stat}' needs a loop question", "question"
    if question.loop:
        codes = {i.code for i in q.model.loops[question.loop].items}
        for item in t.items or ():
            if item not in codes:
                yield f"unknown loop item '{item}'", "items"
        if t.cooccurrence:
            for item in (*t.cooccurrence.given, t.cooccurrence.target):
                if item not in codes:
                    yield f"unknown loop item '{item}'", "cooccurrence"
        pooled = stat not in ("cooccurrence", "count_at_least") and not t.by_item
        if pooled and t.unit != "interactions":
            yield "a loop question pooled over items has unit 'interactions'", "unit"
    elif t.by_item:
        yield "group_by 'item' needs a loop question", "group_by"
    for var in (g for g in t.group_by if g != ITEM):
        if _question(q, var) is None:
            yield f"unknown group_by question '{var}'", "group_by"
    if t.ratio:
        by = _question(q, t.ratio.by)
        if by is None or by.type != "multi" or by.loop != question.loop:
            yield (
                f"ratio.by '{t.ratio.by}' must be a multi-choice question in the same loop",
                "ratio.by",
            )
    if t.restrict:
        rq = _question(q, t.restrict.question)
        if rq is None or rq.type != "multi" or rq.loop != question.loop:
            yield (
                f"restrict.question '{t.restrict.question}' must be a multi-choice question"
                " in the same loop",
                "restrict",
            )
    for k, row in enumerate(t.rows or ()):
        for var in row.where:
            if _question(q, var) is None:
                yield f"row '{row.id}': unknown 'where' question '{var}'", f"rows.{k}.where"
    yield from _row_problems(t, question, q)
    for j, eg in enumerate(t.extra_groups):
        extra = _question(q, eg.question)
        if extra is None:
            yield f"unknown question '{eg.question}'", f"extra_groups.{j}.question"
            continue
        yield from _population_problems(eg.population, extra, q, f"extra_groups.{j}.population")


def _population_problems(
    pop: Population, question: Question, q: Questionnaire, field: str
) -> Iterator[tuple[str, str]]:
    if pop.route is not None and pop.route not in q.routes:
        yield f"unknown route '{pop.route}'", f"{field}.route"
    if question.route and pop.route != question.route:
        yield (
            f"question '{question.id}' is only asked on route '{question.route}'",
            f"{field}.route",
        )
    for var, codes in pop.filter.items():
        fq = _question(q, var)
        if fq is None:
            yield f"unknown filter question '{var}'", f"{field}.filter"
            continue
        known = {o.code for o in q.options(fq)}
        for code in codes:
            if code not in known:
                yield f"'{code}' is not an option of '{var}'", f"{field}.filter.{var}"


def _row_problems(t: TableSpec, question: Question, q: Questionnaire) -> Iterator[tuple[str, str]]:
    stat = t.effective_statistic
    if not t.rows or stat in ("cooccurrence", "count_at_least"):
        return
    if stat == "likert_net":
        nets = q.nets(question)
        for k, row in enumerate(t.rows):
            if row.codes is None and row.id not in nets:
                yield f"row '{row.id}': not a net of '{question.id}' and no codes", f"rows.{k}"
        return
    if stat == "postcode_country":
        known = set(load_postcode_areas().row_codes)
    elif stat == "ratio" and t.ratio:
        by = _question(q, t.ratio.by)
        known = {o.code for o in q.options(by)} if by else set()
    else:
        known = {o.code for o in q.options(question)}
    for k, row in enumerate(t.rows):
        for code in row.code_list:
            if code not in known:
                yield f"row '{row.id}': unknown code '{code}'", f"rows.{k}"
