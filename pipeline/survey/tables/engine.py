"""The stats engine: each declared table, computed from ``SurveyData`` as tidy rows.

Every statistic reduces to the same shape: for each output row, a *hit* mask (counts towards
``n``) and a *base* mask (counts towards ``base``) over a unit frame, summed per group in one
polars ``group_by``. Empty categories and empty groups come from the spec's grid, not the data,
so they appear with ``n = 0``. Grain of the output: one row per table × group × row.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from pipeline.survey.questionnaire import Question, Questionnaire
from pipeline.survey.tables import frames as fr
from pipeline.survey.tables import postcodes as pc
from pipeline.survey.tables.definitions import ITEM, ExtraGroup, RowDef, TableSpec, TablesSpec
from pipeline.survey.tables.stats import add_statistics

TIDY_COLUMNS = (
    "table_id", "group", "row", "row_label", "n", "base",
    "pct", "ci_low", "ci_high", "flag", "ratio",
)  # fmt: skip
_NULL_GROUP = "\x00"


@dataclass(frozen=True)
class RowCalc:
    """One output row: n = hit & base, base = base, den (ratios only) = den & base."""

    id: str
    label: str
    hit: pl.Expr
    base: pl.Expr
    den: pl.Expr | None = None


@dataclass(frozen=True)
class Part:
    """One block of a table: a question over a population, grouped or fixed to one group."""

    question: Question
    population: fr.Population
    base: str
    rows: tuple[RowDef, ...] | None
    fixed_group: str | None


def compute_tables(
    data: fr.SurveyDataLike,
    tables: TablesSpec | Iterable[TableSpec],
    *,
    low_base: int | None = None,
    suppress_base: int | None = None,
) -> dict[str, pl.DataFrame]:
    """Table id -> tidy frame, in spec order. Thresholds default to the spec's ``defaults``."""
    if isinstance(tables, TablesSpec):
        low_base = tables.defaults.low_base if low_base is None else low_base
        suppress_base = tables.defaults.suppress_base if suppress_base is None else suppress_base
    thresholds = {"low_base": low_base or 30, "suppress_base": suppress_base or 10}
    return {t.id: compute_table(data, t, **thresholds) for t in tables}


def compute_table(
    data: fr.SurveyDataLike, table_spec: TableSpec, *, low_base: int = 30, suppress_base: int = 10
) -> pl.DataFrame:
    """One declared table as tidy rows (see ``TIDY_COLUMNS``); pct unrounded 0-100."""
    spec = data.spec
    t = table_spec
    parts = [Part(spec.question(t.question), t.population, t.base, t.rows, None)]
    parts += [_extra_part(spec, eg, t) for eg in t.extra_groups]
    counts = pl.concat([_part_counts(data, t, p) for p in parts], how="vertical_relaxed")
    counts = counts.sort("_g_order", "_r_order").drop("_g_order", "_r_order")
    out = add_statistics(counts, low_base=low_base, suppress_base=suppress_base)
    return out.with_columns(pl.lit(t.id).alias("table_id")).select(TIDY_COLUMNS)


def _extra_part(spec: Questionnaire, eg: ExtraGroup, t: TableSpec) -> Part:
    return Part(spec.question(eg.question), eg.population, eg.base, eg.rows or t.rows, eg.group)


def _part_counts(data: fr.SurveyDataLike, t: TableSpec, part: Part) -> pl.DataFrame:
    spec, q = data.spec, part.question
    frame = data.responses  # the population is a mask in the aggregation, not a filtered copy
    population = fr.population_mask(frame, part.population)
    stat = t.effective_statistic
    column = t.column if part.fixed_group is None else None
    if q.loop and stat not in ("cooccurrence", "count_at_least"):
        frame = fr.long_frame(frame, spec, q.loop, fr.loop_items(spec, q, t))
    rows = _row_calcs(t, stat, frame, spec, part, column)
    if t.restrict and part.fixed_group is None:
        keep = _restrict_mask(frame, spec, t)
        rows = [RowCalc(r.id, r.label, r.hit, r.base & keep, r.den) for r in rows]
    fixed = part.fixed_group if part.fixed_group is not None else t.group
    if fixed is not None:
        levels: list[tuple[str, str]] = [(fixed, fixed)]
        group = pl.lit(fixed)
    else:
        levels, group = _groups(t, frame, spec, q)
    return _aggregate(frame, group, levels, rows, offset=_offset(t, part), population=population)


def _restrict_mask(frame: pl.DataFrame, spec: Questionnaire, t: TableSpec) -> pl.Expr:
    assert t.restrict is not None
    rq = spec.question(t.restrict.question)
    mask = fr.hit(frame, spec, rq, t.restrict.codes)
    return mask & (fr.ticked(frame, spec, rq) == 1) if t.restrict.exactly_one else mask


def _offset(t: TableSpec, part: Part) -> int:
    """Extra groups sort after the main table's groups, in declared order."""
    if part.fixed_group is None:
        return 0
    return 10_000 + [eg.group for eg in t.extra_groups].index(part.fixed_group)


# -- rows per statistic ------------------------------------------------------------------------


def _option_rows(
    spec: Questionnaire, q: Question, declared: tuple[RowDef, ...] | None
) -> list[RowDef]:
    labels = {o.code: o.label for o in spec.options(q)}
    if declared is None:
        return [RowDef(id=o.code, label=o.label) for o in spec.options(q)]
    return [
        r if r.label else r.model_copy(update={"label": labels.get(r.id, r.id)}) for r in declared
    ]


def _row_calcs(
    t: TableSpec,
    stat: str,
    frame: pl.DataFrame,
    spec: Questionnaire,
    part: Part,
    column: str | None,
) -> list[RowCalc]:
    q = part.question
    if stat == "ratio" and t.ratio:
        return _ratio_rows(t, frame, spec, part)
    if stat == "cooccurrence":
        return _cooccurrence_rows(t, frame, spec, part)
    if stat == "count_at_least":
        return _at_least_rows(t, frame, spec, part)
    if stat == "postcode_country":
        return _postcode_rows(frame, spec, part)
    base = fr.base_mask(frame, spec, q, part.base, column)
    if stat == "likert_net":
        nets = spec.nets(q)
        declared = part.rows or tuple(RowDef(id=k, label=n.label) for k, n in nets.items())
        rows = [
            RowDef(id=r.id, label=r.label or nets[r.id].label, codes=r.codes or nets[r.id].codes)
            for r in declared
        ]
    else:
        rows = _option_rows(spec, q, part.rows)
    return [
        RowCalc(
            r.id,
            r.label or r.id,
            fr.hit(frame, spec, q, r.code_list, column),
            base & _where(frame, spec, r),
        )
        for r in rows
    ]


def _where(frame: pl.DataFrame, spec: Questionnaire, row: RowDef) -> pl.Expr:
    """A row's own base filter (crosstab rows such as 'practitioners in role over five years')."""
    mask = pl.lit(True)
    for var, codes in row.where.items():
        mask = mask & fr.value_expr(frame, spec.question(var)).is_in(list(codes)).fill_null(False)
    return mask


def _ratio_rows(
    t: TableSpec, frame: pl.DataFrame, spec: Questionnaire, part: Part
) -> list[RowCalc]:
    """Per purpose: n = numerator units, den = denominator units, base = all units in the row."""
    assert t.ratio is not None
    q, by = part.question, spec.question(t.ratio.by)
    base = fr.base_mask(frame, spec, q, part.base)
    num = fr.hit(frame, spec, q, t.ratio.numerator)
    den = fr.hit(frame, spec, q, t.ratio.denominator)
    single = fr.ticked(frame, spec, by) == 1 if t.ratio.exactly_one else pl.lit(True)
    out = []
    for r in _option_rows(spec, by, part.rows):
        with_purpose = fr.hit(frame, spec, by, r.code_list) & single
        out.append(RowCalc(r.id, r.label or r.id, num, base & with_purpose, den))
    return out


def _postcode_rows(frame: pl.DataFrame, spec: Questionnaire, part: Part) -> list[RowCalc]:
    """Country of each valid postcode's area; blank and invalid postcodes are not in the base."""
    areas = pc.load_postcode_areas()
    q = part.question
    country = pc.country(fr.col_or_null(frame, q.id, pl.String()), areas)
    base = fr.shown(frame, q) & country.is_not_null()
    declared = part.rows or tuple(RowDef(id=c, codes=(c,)) for c in areas.row_codes)
    return [
        RowCalc(
            r.id,
            r.label or areas.label(r.id),
            country.is_in(list(r.code_list)).fill_null(False),
            base & _where(frame, spec, r),
        )
        for r in declared
    ]


def _item_labels(spec: Questionnaire, q: Question) -> dict[str, str]:
    return {i.code: i.label for i in spec.model.loops[q.loop].items} if q.loop else {}


def _cooccurrence_rows(
    t: TableSpec, frame: pl.DataFrame, spec: Questionnaire, part: Part
) -> list[RowCalc]:
    """Of those answering ``answer`` for a given item, the share who did so for the target."""
    assert t.cooccurrence is not None
    c, q = t.cooccurrence, part.question
    labels = _item_labels(spec, q)
    target_col = fr.col_or_null(frame, fr.wide_name(q, c.target), pl.String()).cast(pl.String)
    target = target_col.is_in(list(c.answer)).fill_null(False)
    base = target_col.is_not_null() if part.base == "answered" else pl.lit(True)
    given = {
        g: fr.col_or_null(frame, fr.wide_name(q, g), pl.String())
        .cast(pl.String)
        .is_in(list(c.answer))
        .fill_null(False)
        for g in c.given
    }
    target_label = labels[c.target].lower()
    rows = [
        RowCalc(g, f"{labels[g]}: also interacted with {target_label}", target, base & expr)
        for g, expr in given.items()
    ]
    names = " / ".join(labels[g].lower() for g in c.given)
    rows.append(
        RowCalc(
            c.id,
            f"Any of {names}: also {target_label}",
            target,
            base & pl.any_horizontal(*given.values()),
        )
    )
    return rows


def _at_least_rows(
    t: TableSpec, frame: pl.DataFrame, spec: Questionnaire, part: Part
) -> list[RowCalc]:
    """Number of loop items answered ``answer``: at least k vs fewer (mutually exclusive)."""
    assert t.at_least is not None
    q, k = part.question, t.at_least.k
    cols = [
        fr.col_or_null(frame, fr.wide_name(q, i), pl.String()).cast(pl.String)
        for i in fr.loop_items(spec, q, t)
    ]
    count = pl.sum_horizontal(
        *[c.is_in(list(t.at_least.answer)).fill_null(False).cast(pl.Int32) for c in cols]
    )
    base = (
        pl.all_horizontal(*[c.is_not_null() for c in cols])
        if part.base == "answered"
        else pl.lit(True)
    )
    return [
        RowCalc(t.at_least.id or f"at_least_{k}", f"{k} or more sectors", count >= k, base),
        RowCalc(f"fewer_than_{k}", f"Fewer than {k} sectors", count < k, base),
    ]


# -- groups and aggregation --------------------------------------------------------------------


def _groups(
    t: TableSpec, frame: pl.DataFrame, spec: Questionnaire, q: Question
) -> tuple[list[tuple[str, str]], pl.Expr]:
    """(group id, label) levels in declared order, and the expression assigning each unit."""
    if not t.group_by:
        return [(_NULL_GROUP, "")], pl.lit(_NULL_GROUP)
    level_lists: list[list[tuple[str, str]]] = []
    exprs: list[pl.Expr] = []
    for var in t.group_by:
        if var == ITEM:
            labels = _item_labels(spec, q)
            level_lists.append([(i, labels[i]) for i in fr.loop_items(spec, q, t)])
            exprs.append(pl.col(ITEM))
            continue
        vq = spec.question(var)
        if var in t.bands:
            bands = t.bands[var]
            level_lists.append([(b.id, b.label) for b in bands])
            mapping = {code: b.id for b in bands for code in b.codes}
            exprs.append(
                fr.value_expr(frame, vq).replace_strict(
                    mapping, default=None, return_dtype=pl.String
                )
            )
        else:
            level_lists.append([(o.code, o.label) for o in spec.options(vq)])
            exprs.append(fr.value_expr(frame, vq))
    levels = [
        (":".join(g for g, _ in combo), " / ".join(label for _, label in combo))
        for combo in itertools.product(*level_lists)
    ]
    expr = exprs[0] if len(exprs) == 1 else pl.concat_str(exprs, separator=":")
    return levels, expr


def group_levels(t: TableSpec, spec: Questionnaire) -> list[tuple[str | None, str]]:
    """(group id, label) in table order, for the report; None is the ungrouped table."""
    q = spec.question(t.question)
    empty = pl.DataFrame()
    levels, _ = _groups(t, empty, spec, q) if t.group_by else ([(_NULL_GROUP, "")], None)
    out: list[tuple[str | None, str]] = [
        (None if g == _NULL_GROUP else g, lab) for g, lab in levels
    ]
    return out + [(eg.group, eg.label) for eg in t.extra_groups]


def _aggregate(
    frame: pl.DataFrame,
    group: pl.Expr,
    levels: list[tuple[str, str]],
    rows: list[RowCalc],
    offset: int,
    population: pl.Expr | None = None,
) -> pl.DataFrame:
    # Masks become columns first, so a literal mask (routed: everyone) broadcasts to every unit.
    masks: list[pl.Expr] = []
    for i, r in enumerate(rows):
        den = r.den if r.den is not None else pl.lit(False)
        masks += [
            (r.hit & r.base).alias(f"n{i}"),
            r.base.alias(f"b{i}"),
            (den & r.base).alias(f"d{i}"),
        ]
    sums = [pl.col(f"{k}{i}").sum().cast(pl.Int64) for i in range(len(rows)) for k in "nbd"]
    # select, not with_columns: only the masks travel through filter and group_by (filtering
    # the whole wide frame copied every column, 2 of 3 s of all tables at 100k rows)
    keep = pl.col("_group").is_not_null()
    if population is not None:
        masks.append(population.alias("_population"))
        keep = keep & pl.col("_population")
    grouped = (
        frame.lazy()
        .select(group.cast(pl.String).alias("_group"), *masks)
        .filter(keep)
        .group_by("_group")
        .agg(sums)
        .collect()
    )
    counts = pl.concat(
        [
            grouped.select(
                pl.col("_group").alias("group"),
                pl.lit(r.id).alias("row"),
                pl.col(f"n{i}").alias("n"),
                pl.col(f"b{i}").alias("base"),
                pl.col(f"d{i}").alias("_den"),
            )
            for i, r in enumerate(rows)
        ]
    )
    grid = pl.DataFrame(
        [
            {"group": g, "row": r.id, "row_label": r.label, "_g_order": offset + gi, "_r_order": ri}
            for gi, (g, _) in enumerate(levels)
            for ri, r in enumerate(rows)
        ],
        schema={
            "group": pl.String,
            "row": pl.String,
            "row_label": pl.String,
            "_g_order": pl.Int64,
            "_r_order": pl.Int64,
        },
    )
    out = grid.join(counts, on=["group", "row"], how="left").with_columns(
        pl.col("n").fill_null(0),
        pl.col("base").fill_null(0),
        pl.col("_den").fill_null(0)
        if rows[0].den is not None
        else pl.lit(None, pl.Int64).alias("_den"),
    )
    return out.with_columns(
        pl.when(pl.col("group") == _NULL_GROUP).then(None).otherwise(pl.col("group")).alias("group")
    )
