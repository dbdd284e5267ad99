"""Data contracts (pandera, polars backend), one schema per layer, built from the questionnaire spec.

Layers: ``mapped`` (one row per raw response), ``clean`` (one row per usable respondent, routed),
``loop`` (one row per respondent x loop item interacted with). Collected frames are validated with
``lazy=True`` so every failure is reported at once. The report names row, column and check, and
quotes a value only for closed-question columns (option codes), never free text, emails or IPs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipeline.core.errors import Problem, ValidationFailed
from pipeline.survey.questionnaire import ColumnSpec, Questionnaire


class ResponseMeta(pa.DataFrameModel):
    """Columns every response layer carries; the descriptions double as the data dictionary."""

    row: int = pa.Field(
        alias="_row", ge=1, unique=True, description="1-based row in the export file"
    )
    respondent: str = pa.Field(
        alias="_respondent", str_startswith="r_", description="keyed pseudonym"
    )
    collector: str = pa.Field(alias="_collector", nullable=True, description="survey collector")
    started: str = pa.Field(
        alias="_started", nullable=True, description="submission start, as exported"
    )
    ended: str = pa.Field(alias="_ended", nullable=True, description="submission end, as exported")

    class Config:
        strict = False


def _column(col: ColumnSpec, checks: list[pa.Check], nullable: bool = True) -> pa.Column:
    dtype = pl.Boolean if col.dtype == "bool" else pl.String
    if col.kind == "value" and col.instance.options:
        checks = [
            pa.Check.isin([o.code for o in col.instance.options], name="option_code"),
            *checks,
        ]
    desc = (
        col.instance.text
        if col.kind == "value"
        else f"{col.instance.text} [{col.option.label if col.option else 'other, specify'}]"
    )
    return pa.Column(dtype, checks=checks, nullable=nullable, required=True, description=desc)


def mapped_schema(spec: Questionnaire) -> pa.DataFrameSchema:
    base = ResponseMeta.to_schema()
    return base.add_columns({c.name: _column(c, []) for c in spec.columns})


def _expr_check(expr: pl.Expr, name: str) -> pa.Check:
    def fn(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(expr.fill_null(True).alias("ok"))

    check = pa.Check(fn, name=name)
    check.reads = tuple(expr.meta.root_names())  # the columns it needs beside its own
    return check


def _routing_checks(spec: Questionnaire) -> dict[str, list[pa.Check]]:
    """Per column: asked only on its route; answered only when its shown_if condition held."""
    checks: dict[str, list[pa.Check]] = {}
    for col in spec.columns:
        q, inst = col.instance.question, col.instance
        answered_or_null = pl.col(col.name).is_null()
        if col.kind == "option":
            answered_or_null = answered_or_null | ~pl.col(col.name)
        rules: list[pa.Check] = []
        if q.route:
            rules.append(
                _expr_check(
                    answered_or_null | (pl.col("_route") == q.route),
                    f"asked only on route '{q.route}'",
                )
            )
        if inst.condition_instance and q.shown_if:
            cond = pl.col(inst.condition_instance).is_in(list(q.shown_if.in_))
            rules.append(
                _expr_check(
                    answered_or_null | cond,
                    f"asked only when {inst.condition_instance} in {list(q.shown_if.in_)}",
                )
            )
        checks[col.name] = rules
    for inst in spec.instances:
        q = inst.question
        opts = spec.option_columns(inst.id)
        first = next(iter(opts.values()), None)
        if first is None:
            continue
        ticked = pl.sum_horizontal([pl.col(c).cast(pl.Int32) for c in opts.values()])
        if q.max_choices:
            checks[first].append(
                _expr_check(ticked <= q.max_choices, f"{inst.id}: at most {q.max_choices} choices")
            )
        if q.subset_of:
            parent = inst.id.replace(q.id, q.subset_of, 1)
            parent_opts = spec.option_columns(parent)
            ok = pl.all_horizontal(
                [
                    ~pl.col(c).fill_null(False) | pl.col(parent_opts[code]).fill_null(False)
                    for code, c in opts.items()
                    if code in parent_opts
                ]
            )
            checks[first].append(_expr_check(ok, f"{inst.id} ⊆ {parent}"))
        for o in inst.options:
            if o.exclusive:
                others = [c for code, c in opts.items() if code != o.code]
                alone = ~pl.col(opts[o.code]).fill_null(False) | ~pl.any_horizontal(
                    [pl.col(c).fill_null(False) for c in others]
                )
                checks[first].append(_expr_check(alone, f"{inst.id}: '{o.label}' chosen alone"))
    return checks


def clean_schema(spec: Questionnaire) -> pa.DataFrameSchema:
    routing = _routing_checks(spec)
    routes = list(spec.routes)
    required = {q.id for q in spec.model.questions if q.required}
    cols = {
        c.name: _column(c, routing.get(c.name, []), nullable=c.name not in required)
        for c in spec.columns
    }
    cols["_route"] = pa.Column(
        pl.String, pa.Check.isin(routes), nullable=False, description="route after recoding"
    )
    # unique before adding the spec's columns: update_column deep-copies every column it holds
    base = ResponseMeta.to_schema().update_column("_respondent", unique=True)
    return base.add_columns(cols)


def loop_schema(spec: Questionnaire, loop: str, questions: list[str]) -> pa.DataFrameSchema:
    items = [i.code for i in spec.model.loops[loop].items]
    return pa.DataFrameSchema(
        {
            "_respondent": pa.Column(pl.String, nullable=False),
            "item": pa.Column(pl.String, pa.Check.isin(items), nullable=False),
            "interacted": pa.Column(pl.String, pa.Check.isin(["yes"]), nullable=False),
        },
        unique=["_respondent", "item"],
        description=f"grain: one row per respondent x {loop} item interacted with",
    )


@dataclass(frozen=True)
class ValidationReport:
    layer: str
    rows: int
    columns: int
    checks: int

    def text(self) -> str:
        return (
            f"{self.layer}: {self.rows} rows x {self.columns} columns, {self.checks} checks passed"
        )


# Columns per pandera call: pandera's polars backend looks up the frame's schema once per column,
# so one call over a wide frame costs columns x width; parts of this many columns keep it linear.
PART = 40


def _parts(
    frame: pl.DataFrame, schema: pa.DataFrameSchema
) -> list[tuple[pl.DataFrame, pa.DataFrameSchema]]:
    """The schema split into parts of ``PART`` columns, each with the frame's columns it declares
    or its checks read (the first part also carries the schema's own checks and uniqueness).
    Every column and check is in exactly one part; rows keep their order, so failure indices
    are the frame's."""
    names = list(schema.columns)
    if len(names) <= PART:
        return [(frame, schema)]
    present = set(frame.columns)
    parts = []
    for start in range(0, len(names), PART):
        group = names[start : start + PART]
        part = copy.copy(schema)  # shallow: the column objects are shared, never changed
        part.columns = {n: schema.columns[n] for n in group}
        if start:
            part.checks, part.unique = [], None
        wanted = set(group)
        for n in group:
            for check in schema.columns[n].checks:
                wanted.update(getattr(check, "reads", ()))
        if not start:
            for check in schema.checks:
                wanted.update(getattr(check, "reads", ()))
            wanted.update(schema.unique or ())
        parts.append((frame.select([c for c in frame.columns if c in wanted & present]), part))
    return parts


def validate(
    frame: pl.DataFrame,
    schema: pa.DataFrameSchema,
    layer: str,
    spec: Questionnaire,
    file: str | None = None,
) -> ValidationReport:
    """Validate a collected frame, gathering every failure into one ``ValidationFailed``."""
    failures = []
    for part_frame, part in _parts(frame, schema):
        try:
            part.validate(part_frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            failures.append(err.failure_cases)
    if failures:
        raise ValidationFailed(
            f"{layer} data failed validation",
            file=file,
            fix="these are pipeline or spec defects, or an export that breaks the survey's routing; "
            "each line names the export row, column and rule",
            problems=_problems(pl.concat(failures, how="diagonal_relaxed"), frame, spec),
        ) from None
    n_checks = sum(len(c.checks) + 1 for c in schema.columns.values()) + len(schema.checks)
    return ValidationReport(layer, frame.height, frame.width, n_checks)


def _problems(cases: pl.DataFrame, frame: pl.DataFrame, spec: Questionnaire) -> list[Problem]:
    closed = {c.name for c in spec.columns if c.kind == "value" and c.instance.options}
    rows = frame["_row"].to_list() if "_row" in frame.columns else None
    out = []
    for case in cases.iter_rows(named=True):
        idx, column, check = case["index"], case["column"], case["check"]
        row = rows[idx] if rows is not None and idx is not None and idx < len(rows) else None
        quoted = (column in closed and check.startswith("option_code")) or check.startswith("isin")
        value = (
            f" (value '{str(case['failure_case'])[:40]}')" if quoted and column in closed else ""
        )
        out.append(Problem(f"failed check '{check}'{value}", row=row, column=column))
    return out
