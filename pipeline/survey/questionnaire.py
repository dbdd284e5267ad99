"""The questionnaire spec: questions, options, loops, routing and cleaning rules, as validated data.

Every survey-specific decision lives in ``schemas/surveys/<survey>/questionnaire.yaml``; this module
validates it on load and derives what the stages need (mapped column names, SurveyMonkey header
rows, which questions a route or loop item was shown) so no stage types a column name by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.core import config
from pipeline.core.paths import SURVEY_NAME

QuestionType = Literal["single", "multi", "likert", "text", "postcode", "number", "date"]
CHOICE_TYPES = ("single", "multi", "likert")
SM_RESPONSE = "Response"
SM_OPEN = "Open-Ended Response"
SM_OTHER = "Other (please specify)"
ALL_ROUTE = "all"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Model):
    code: str = Field(description="Stable code used in data and tables")
    label: str = Field(description="Label as the respondent saw it")
    other_text: bool = Field(False, description="Has a 'please specify' box")
    exclusive: bool = Field(False, description="Cannot be combined with other options (None)")
    aliases: tuple[str, ...] = Field((), description="Other labels accepted on ingest")
    recode: int | None = Field(
        None, description="Qualtrics recode value, for exports made with 'Use numeric values'"
    )
    optional: bool = Field(
        False,
        description="Added in a later wave: an export without its column did not offer it "
        "(counted as not selected, with a note)",
    )


class Condition(_Model):
    question: str
    in_: tuple[str, ...] = Field(alias="in")


class Question(_Model):
    id: str
    block: str
    type: QuestionType
    text: str
    aliases: tuple[str, ...] = Field(
        (), description="Other header wordings accepted on ingest (other waves), {item} allowed"
    )
    wording: Literal["published", "reconstructed", "export"]
    source: str | None = None
    required: bool = False
    loop: str | None = None
    route: str | None = Field(None, description="Only respondents on this route are asked")
    shown_if: Condition | None = None
    options: tuple[Option, ...] | str | None = None
    other_text: bool = Field(False, description="A free-text 'Other (please specify)' box")
    max_choices: int | None = None
    subset_of: str | None = None
    inferred: str | None = Field(
        None, description="How `survey init` read this question from the export (draft specs)"
    )

    @field_validator("id")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not v.replace("_", "").isalnum() or v != v.lower():
            raise ValueError(f"question id '{v}' must be snake_case")
        return v


class LoopItem(_Model):
    code: str
    label: str
    text: str


class Loop(_Model):
    label: str
    items: tuple[LoopItem, ...]


class Route(_Model):
    label: str
    sectors: tuple[str, ...]


class Routing(_Model):
    question: str
    routes: dict[str, Route]


class Duplicates(_Model):
    same_respondent_id: bool = True
    identical_answers_same_collector: bool = True


class OtherRecode(_Model):
    question: str
    table: str
    suggest_with_embeddings: bool = True
    min_similarity: float = Field(
        0.45,
        ge=0,
        le=1,
        description="no suggestion below this cosine similarity (docs/recodes.md says how it was chosen)",
    )


class Cleaning(_Model):
    partial_after_block: str | None = Field(
        None, description="Nothing answered after this block = partial; none: nothing at all"
    )
    duplicates: Duplicates = Duplicates()
    other_recode: OtherRecode | None = None


class Export(_Model):
    layout: Literal["surveymonkey", "qualtrics", "plain"]
    respondent_id: str | None = None
    collector_id: str | None = None
    started: str | None = None
    ended: str | None = None
    identifying: tuple[str, ...] = ()
    name_columns: tuple[str, ...] = ()
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Mapped column -> export header key (see ingest/declared.py); when set, "
        "columns are matched by these keys instead of by question text",
    )
    ignored: tuple[str, ...] = Field(
        (), description="Header keys of export columns deliberately not read (metadata)"
    )


class Block(_Model):
    id: str
    label: str


class Net(_Model):
    label: str
    codes: tuple[str, ...]


class Fieldwork(_Model):
    start: str
    end: str


class QuestionnaireModel(_Model):
    survey: str = Field(pattern=SURVEY_NAME.pattern, description="Names the output folder")
    title: str
    version: str
    source: str
    status: Literal["draft", "reviewed"] = Field(
        "reviewed", description="draft: written by `survey init`, not yet reviewed by a person"
    )
    fieldwork: Fieldwork | None = None
    export: Export
    routing: Routing | None = Field(None, description="None: one route, every respondent")
    cleaning: Cleaning
    blocks: tuple[Block, ...]
    loops: dict[str, Loop] = {}
    option_sets: dict[str, tuple[Option, ...]] = {}
    likert_nets: dict[str, dict[str, Net]] = {}
    questions: tuple[Question, ...]

    @model_validator(mode="after")
    def _references(self) -> QuestionnaireModel:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate question ids: {dupes}")
        blocks = {b.id for b in self.blocks}
        by_id = {q.id: q for q in self.questions}
        for q in self.questions:
            if q.block not in blocks:
                raise ValueError(f"question '{q.id}': unknown block '{q.block}'")
            if q.loop and q.loop not in self.loops:
                raise ValueError(f"question '{q.id}': unknown loop '{q.loop}'")
            if q.route and q.route not in (self.routing.routes if self.routing else {}):
                raise ValueError(f"question '{q.id}': unknown route '{q.route}'")
            if isinstance(q.options, str) and q.options not in self.option_sets:
                raise ValueError(f"question '{q.id}': unknown option set '{q.options}'")
            if (q.type in CHOICE_TYPES) != (q.options is not None):
                raise ValueError(
                    f"question '{q.id}': options are required exactly for choice types"
                )
            for ref in (q.subset_of, q.shown_if.question if q.shown_if else None):
                if ref and ref not in by_id:
                    raise ValueError(f"question '{q.id}': refers to unknown question '{ref}'")
            if q.shown_if and by_id[q.shown_if.question].loop not in (None, q.loop):
                raise ValueError(f"question '{q.id}': shown_if must refer to the same loop")
        if self.routing and self.routing.question not in by_id:
            raise ValueError(f"routing question '{self.routing.question}' is not a question")
        partial = self.cleaning.partial_after_block
        if partial is not None and partial not in blocks:
            raise ValueError(f"cleaning.partial_after_block '{self.cleaning.partial_after_block}'")
        return self


@dataclass(frozen=True)
class QuestionInstance:
    """A question as asked once: a plain question, or a loop question for one loop item."""

    id: str  # column stem, e.g. "purposes_education"
    question: Question
    options: tuple[Option, ...]
    item: LoopItem | None
    text: str
    condition_instance: str | None  # the instance whose answer decides whether this was shown
    aliases: tuple[str, ...] = ()  # other header wordings, {item} filled

    @property
    def qid(self) -> str:
        return self.question.id


@dataclass(frozen=True)
class ColumnSpec:
    """One mapped column: its name, the instance it belongs to and what it holds."""

    name: str
    instance: QuestionInstance
    kind: Literal["value", "option", "other_text"]
    option: Option | None = None

    @property
    def dtype(self) -> Literal["str", "bool"]:
        return "bool" if self.kind == "option" else "str"


class Questionnaire:
    """A validated questionnaire spec plus the derivations every stage needs."""

    def __init__(self, model: QuestionnaireModel, path: Path, raw: bytes) -> None:
        self.model = model
        self.path = path
        self.sha256 = hashlib.sha256(raw).hexdigest()

    # -- identity
    @property
    def survey(self) -> str:
        return self.model.survey

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def directory(self) -> Path:
        return self.path.parent

    # -- questions
    def question(self, qid: str) -> Question:
        for q in self.model.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def options(self, q: Question) -> tuple[Option, ...]:
        if q.options is None:
            return ()
        return self.model.option_sets[q.options] if isinstance(q.options, str) else q.options

    @cached_property
    def instances(self) -> tuple[QuestionInstance, ...]:
        out: list[QuestionInstance] = []
        for q in self.model.questions:
            items: tuple[LoopItem | None, ...] = (
                self.model.loops[q.loop].items if q.loop else (None,)
            )
            for item in items:
                stem = f"{q.id}_{item.code}" if item else q.id
                cond = None
                if q.shown_if:
                    cond = f"{q.shown_if.question}_{item.code}" if item else q.shown_if.question
                text = fill_item(q.text, item)
                aliases = tuple(fill_item(a, item) for a in q.aliases)
                out.append(QuestionInstance(stem, q, self.options(q), item, text, cond, aliases))
        return tuple(out)

    def instance(self, instance_id: str) -> QuestionInstance:
        for inst in self.instances:
            if inst.id == instance_id:
                return inst
        raise KeyError(instance_id)

    def loop_instances(self, qid: str) -> tuple[QuestionInstance, ...]:
        return tuple(i for i in self.instances if i.qid == qid)

    @cached_property
    def columns(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for inst in self.instances for c in _instance_columns(inst))

    def columns_of(self, instance_id: str) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.instance.id == instance_id)

    def option_columns(self, instance_id: str) -> dict[str, str]:
        """Option code -> boolean column name, for a multi-choice instance."""
        return {
            c.option.code: c.name
            for c in self.columns_of(instance_id)
            if c.option and c.kind == "option"
        }

    def block_columns(self, block: str) -> list[str]:
        return [c.name for c in self.columns if c.instance.question.block == block]

    def blocks_after(self, block: str | None) -> list[str]:
        """Blocks after ``block``; every block when ``block`` is None."""
        ids = [b.id for b in self.model.blocks]
        return ids if block is None else ids[ids.index(block) + 1 :]

    # -- routing
    @property
    def routes(self) -> dict[str, Route]:
        """Declared routes; a survey without routing has one route, ``all``."""
        if self.model.routing is None:
            return {ALL_ROUTE: Route(label="All respondents", sectors=())}
        return self.model.routing.routes

    def route_of_sector(self) -> dict[str, str]:
        return {s: r for r, route in self.routes.items() for s in route.sectors}

    def route_columns(self, route: str) -> list[str]:
        return [c.name for c in self.columns if c.instance.question.route == route]

    def nets(self, q: Question) -> dict[str, Net]:
        return self.model.likert_nets.get(q.options, {}) if isinstance(q.options, str) else {}

    # -- export layout
    def surveymonkey_headers(self) -> list[tuple[str, str, str]]:
        """(row 1 text, row 2 text, mapped column) for every question column, in export order.

        Row 1 holds the question text on a question's first column and is blank on the columns
        that continue it, as SurveyMonkey writes it.
        """
        out: list[tuple[str, str, str]] = []
        for inst in self.instances:
            for j, col in enumerate(_instance_columns(inst)):
                first = inst.text if j == 0 else ""
                if col.kind == "other_text":
                    sub = SM_OTHER
                elif col.kind == "option":
                    sub = col.option.label  # type: ignore[union-attr]
                elif inst.question.type in CHOICE_TYPES:
                    sub = SM_RESPONSE
                else:
                    sub = SM_OPEN
                out.append((first, sub, col.name))
        return out

    def iter_text_columns(self) -> Iterator[str]:
        """Columns that can hold respondent free text (need escaping and redaction)."""
        for c in self.columns:
            if c.kind == "other_text" or c.instance.question.type in ("text", "postcode"):
                yield c.name


def fill_item(text: str, item: LoopItem | None) -> str:
    """A loop question's wording for one item: ``{item}`` becomes the item's text."""
    return text.replace("{item}", item.text) if item else text


def _instance_columns(inst: QuestionInstance) -> list[ColumnSpec]:
    q = inst.question
    cols: list[ColumnSpec] = []
    if q.type == "multi":
        cols += [ColumnSpec(f"{inst.id}__{o.code}", inst, "option", o) for o in inst.options]
    else:
        cols.append(ColumnSpec(inst.id, inst, "value"))
    if q.other_text or any(o.other_text for o in inst.options):
        cols.append(ColumnSpec(f"{inst.id}__other_text", inst, "other_text"))
    return cols


def load_questionnaire(survey: str | Path) -> Questionnaire:
    doc = config.read(config.resolve(survey, file="questionnaire.yaml"), "questionnaire spec")
    model = config.validate(QuestionnaireModel, doc, "questionnaire spec")
    return Questionnaire(model, doc.path, doc.raw)
