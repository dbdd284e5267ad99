"""Compare regenerated tables with every published figure, value by value.

A published percentage is a whole number rounded from an unknown exact value, so it *matches*
when the regenerated unrounded value lies within ±0.5 points of it (the rounding interval).
Counts and bases match exactly; ratios (printed to 2 dp) within ±0.005. Values quoted in words
carry a qualifier and are checked as the words say ("nearly 75" = [70, 75), "more than 95" > 95,
"up to 20" < 20.5, "approx" within ±2 points or ±0.02). A mismatch carries the reconciliation
text from ``schemas/surveys/<survey>/published.yaml`` so a reader sees at once whether it is expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from pipeline.core import config
from pipeline.survey.published import Published, PublishedValue
from pipeline.survey.tables.definitions import TablesSpec, load_tables

PCT_TOL = 0.5
RATIO_TOL = 0.005
APPROX_PCT = 2.0
APPROX_RATIO = 0.02
NEARLY_WIDTH = 5.0
MATCH, MISMATCH, NOT_COMPUTED = "match", "mismatch", "not_computed"
CHECK_COLUMNS = ("figure", "group", "row", "published", "regenerated", "status", "note")
FUNNEL_PREFIX = "text-2."


def check_published(
    tables: Mapping[str, pl.DataFrame],
    published: Published,
    *,
    tables_spec: TablesSpec | None = None,
    funnel: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per published value: ``figure, group, row, published, regenerated, status, note``.

    ``tables_spec`` supplies which tables reproduce each figure (``published`` and
    ``also_published``) and the base wording; when omitted, the survey's ``tables.yaml`` is
    loaded if it exists, else a figure is looked up under its own id.
    ``funnel`` (``step, count``) lets the cleaning counts quoted in Chapter 2 be checked too.
    """
    if tables_spec is None and config.resolve(published.survey, file="tables.yaml").exists():
        tables_spec = load_tables(published.survey)
    mapping = tables_spec.published_map() if tables_spec else {}
    base_text = {t.id: t.base_text for t in tables_spec} if tables_spec else {}
    recon = _reconciliations(published)
    rows = []
    for v in published.values():
        if v.figure_id.startswith(FUNNEL_PREFIX):
            status, regen, note = _check_funnel(v, funnel)
        else:
            ids = mapping.get(v.figure_id) or ([v.figure_id] if v.figure_id in tables else [])
            status, regen, note = _check_value(v, tables, ids, base_text)
        if status != MATCH and v.figure_id in recon:
            note = "; ".join(p for p in (note, recon[v.figure_id]) if p)
        rows.append(
            {
                "figure": v.figure_id,
                "group": v.group,
                "row": v.row,
                "published": _describe_published(v),
                "regenerated": regen,
                "status": status,
                "note": note,
            }
        )
    schema = dict.fromkeys(CHECK_COLUMNS, pl.String)
    return pl.DataFrame(rows, schema=schema)


def summary(check: pl.DataFrame) -> dict[str, Any]:
    """Counts by status and the share of published values reproduced."""
    total = check.height
    counts = {
        s: int((check["status"] == s).sum()) if total else 0
        for s in (MATCH, MISMATCH, NOT_COMPUTED)
    }
    return {
        "matched": counts[MATCH],
        "mismatched": counts[MISMATCH],
        "not_computed": counts[NOT_COMPUTED],
        "total": total,
        "share": counts[MATCH] / total if total else 0.0,
    }


def _reconciliations(published: Published) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for r in published.model.reconciliations:
        text = f"Reconciliation: {' '.join(r.issue.split())} Resolution: {' '.join(r.resolution.split())}"
        for fig in r.figures:
            out.setdefault(fig, []).append(text)
    return {k: " | ".join(v) for k, v in out.items()}


def _find(
    tables: Mapping[str, pl.DataFrame], ids: Sequence[str], v: PublishedValue
) -> tuple[str, dict[str, Any]] | None:
    for tid in ids:
        frame = tables.get(tid)
        if frame is None:
            continue
        group = pl.col("group").is_null() if v.group is None else pl.col("group") == v.group
        hit = frame.filter(group & (pl.col("row") == v.row))
        if hit.height:
            return tid, hit.row(0, named=True)
    return None


def _check_value(
    v: PublishedValue,
    tables: Mapping[str, pl.DataFrame],
    ids: Sequence[str],
    base_text: Mapping[str, str],
) -> tuple[str, str, str]:
    if not ids:
        return NOT_COMPUTED, "", "no declared table reproduces this figure"
    found = _find(tables, ids, v)
    if found is None:
        return NOT_COMPUTED, "", f"row not in table(s) {', '.join(ids)}"
    tid, row = found
    note = f"table {tid}; base {row['base']}"
    if tid in base_text:
        note += f" ({base_text[tid]})"
    results = []
    if v.n is not None:
        results.append(row["n"] == v.n)
    if v.base is not None:
        results.append(row["base"] == v.base)
    if v.pct is not None:
        if row["pct"] is None:
            return (
                NOT_COMPUTED,
                _describe_row(row),
                note + "; percentage suppressed (base too small)",
            )
        results.append(_pct_ok(row["pct"], v.pct, v.qualifier))
    if v.ratio is not None:
        if row.get("ratio") is None:
            return (
                NOT_COMPUTED,
                _describe_row(row),
                note + "; ratio undefined (no denominator units)",
            )
        tol = APPROX_RATIO if v.qualifier == "approx" else RATIO_TOL
        results.append(abs(row["ratio"] - v.ratio) <= tol + 1e-9)
    return (MATCH if all(results) else MISMATCH), _describe_row(row), note


def _pct_ok(value: float, printed: int, qualifier: str | None) -> bool:
    if qualifier == "nearly":
        return printed - NEARLY_WIDTH <= value < printed
    if qualifier == "more_than":
        return value > printed
    if qualifier == "at_most":
        return value < printed + PCT_TOL
    tol = APPROX_PCT if qualifier == "approx" else PCT_TOL
    return abs(value - printed) <= tol + 1e-9


def _check_funnel(v: PublishedValue, funnel: pl.DataFrame | None) -> tuple[str, str, str]:
    if funnel is None:
        return NOT_COMPUTED, "", "cleaning funnel not supplied"
    counts = dict(zip(funnel["step"].to_list(), funnel["count"].to_list(), strict=True))
    if v.row not in counts:
        return NOT_COMPUTED, "", f"funnel has no step '{v.row}'"
    n = int(counts[v.row])
    usable = counts.get("usable")
    pct = n / usable * 100 if usable else None
    ok = v.n is None or n == v.n
    if v.pct is not None:
        ok = ok and pct is not None and abs(pct - v.pct) <= PCT_TOL
    regen = f"n={n}" + (f"; {pct:.1f}%" if v.pct is not None and pct is not None else "")
    return (MATCH if ok else MISMATCH), regen, "cleaning funnel (funnel.csv)"


def _describe_published(v: PublishedValue) -> str:
    parts = []
    if v.n is not None:
        parts.append(f"n={v.n}")
    if v.pct is not None:
        parts.append(f"{(v.qualifier + ' ') if v.qualifier else ''}{v.pct}%")
    if v.ratio is not None:
        parts.append(f"{(v.qualifier + ' ') if v.qualifier else ''}ratio {v.ratio:.2f}")
    if v.base is not None:
        parts.append(f"base {v.base}")
    return "; ".join(parts)


def _describe_row(row: Mapping[str, Any]) -> str:
    parts = [f"n={row['n']}"]
    if row.get("pct") is not None:
        parts.append(f"{row['pct']:.1f}%")
    if row.get("ratio") is not None:
        parts.append(f"ratio {row['ratio']:.3f}")
    parts.append(f"base {row['base']}")
    return "; ".join(parts)
