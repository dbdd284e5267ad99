"""Everything the report templates show, computed from the tables, spec, ledger and manifest.

The templates only lay things out: every number, base sentence and key finding is built here from
computed tables, never typed. The same context feeds the HTML and Markdown reports, so they say
the same things. Disclosure control is applied here once (``apply_profile``) and the display
columns it produces are the only numbers either report prints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from markupsafe import Markup

from pipeline.core.safety.disclosure import SUPPRESSED, apply_profile, protect_across, round_half_up
from pipeline.survey.questionnaire import Questionnaire
from pipeline.survey.report import charts
from pipeline.survey.tables.definitions import BASE_WORDS, TableSpec, TablesSpec
from pipeline.survey.tables.engine import group_levels
from pipeline.survey.tables.frames import population_frame
from pipeline.survey.tables.postcodes import excluded
from pipeline.survey.verify import summary

FUNNEL_LABELS = {
    "raw": "Responses exported",
    "removed_duplicate": "Removed: duplicate",
    "removed_partial": "Removed: partial (background only)",
    "usable": "Usable responses",
    "other_sector": "Chose 'Other' sector",
    "other_recoded": "'Other' recoded to a listed sector",
    "route_youth": "Youth-sector route",
    "route_allied": "Allied-sector route",
}
FUNNEL_LEVEL = {"removed_duplicate": 1, "removed_partial": 1, "other_sector": 1, "other_recoded": 2}
FUNNEL_LEVEL |= {"route_youth": 1, "route_allied": 1}
MAX_FINDINGS = 10


def displayed(
    tidy: pl.DataFrame, t: TableSpec, profile: str, thresholds: Mapping[str, int]
) -> pl.DataFrame:
    """The tidy table with ``n_display``, ``pct_display`` and ``note`` for the disclosure profile."""
    return apply_profile(
        tidy,
        profile,  # type: ignore[arg-type]
        exclusive=t.exclusive,
        min_cell=thresholds.get("min_cell", 10),
        low_base=thresholds.get("low_base", 30),
        suppress_base=thresholds.get("suppress_base", 10),
    )


def displayed_all(
    tables: Mapping[str, pl.DataFrame], tables_spec: TablesSpec, profile: str
) -> dict[str, pl.DataFrame]:
    """Every table's display columns, computed together: in ``publication`` a cell hidden in one
    table is not left recoverable from another (``protect_across``)."""
    thresholds = tables_spec.defaults.model_dump()
    shown = {t.id: displayed(tables[t.id], t, profile, thresholds) for t in tables_spec}
    if profile != "publication":
        return shown
    return protect_across(
        shown,
        exclusive={t.id: t.exclusive for t in tables_spec},
        partitions={t.id: partition_groups(t, tables[t.id]) for t in tables_spec},
    )


def partition_groups(t: TableSpec, tidy: pl.DataFrame) -> list[str]:
    """Groups that split one population (``group_by`` a background variable): loop items overlap
    (one respondent, several sectors) and extra groups are other populations, so neither counts."""
    if not t.group_by or t.by_item:
        return []
    extra = {eg.group for eg in t.extra_groups}
    return sorted({g for g in tidy["group"].to_list() if g is not None and g not in extra})


def base_sentence(t: TableSpec, group: str | None, group_label: str, base: int | str) -> str:
    """'Base: youth-sector respondents who interacted with education (n=230)'."""
    text = t.base_text
    for eg in t.extra_groups:
        if eg.group == group:
            text = eg.base_text
    filled = fill_placeholder(text, group_label)
    return f"Base: {filled} (n={base:,})" if isinstance(base, int) else f"Base: {filled} (n={base})"


def section(
    t: TableSpec,
    tidy: pl.DataFrame,
    spec: Questionnaire,
    profile: str,
    thresholds: Mapping[str, int],
    shown: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """One table or figure: its chart, display rows, base sentences, source and notes
    (``shown``: the display columns from ``displayed_all``, computed here when not given)."""
    shown = displayed(tidy, t, profile, thresholds) if shown is None else shown
    labels = dict(group_levels(t, spec))
    if t.group_label and t.group:
        labels[t.group] = t.group_label
    rows = []
    for r in shown.iter_rows(named=True):
        rows.append(
            {
                "group": labels.get(r["group"], r["group"] or ""),
                "label": r["row_label"],
                "n": r["n_display"],
                "base": r["base_display"],
                "pct": r["pct_display"],
                "ci": _ci(r) if r["pct_display"] not in ("", "[c]") else "",
                "ratio": ""
                if r["ratio"] is None or r["pct_display"] == "[c]"
                else f"{r['ratio']:.2f}",
                "flag": r["flag"] or r["note"] or "",
            }
        )
    bases = []
    per_row_base = t.statistic == "ratio" or any(row.where for row in t.rows or ())
    if not per_row_base:
        firsts = shown.unique(subset=["group"], keep="first", maintain_order=True)
        for r in firsts.iter_rows(named=True):
            base = SUPPRESSED if r["base_display"] == SUPPRESSED else r["base"]
            bases.append(base_sentence(t, r["group"], labels.get(r["group"], ""), base))
    else:
        bases.append(f"Base: {fill_placeholder(t.base_text)} (n shown per row)")
    q = spec.question(t.question)
    return {
        "id": t.id,
        "title": t.title,
        "published": t.published or "",
        "also": ", ".join(t.also_published),
        "statistic": t.statistic + (f" ({t.measure})" if t.measure else ""),
        "unit": t.unit,
        "grouped": bool(t.group_by) or bool(t.extra_groups),
        "has_ratio": t.statistic == "ratio",
        "rows": rows,
        "bases": bases,
        "source": t.source,
        "notes": list(t.notes),
        "wording": q.wording,
        "question_text": _wording(spec, q),
        "base_rule": f"Base rule: {t.base} ({BASE_WORDS[t.base]}).",
        "chart": _chart(t, shown, labels),
    }


def data_notes(t: TableSpec, data: Any) -> list[str]:
    """Notes computed from the respondents, not the tidy rows: units left out of a table's base.

    A postcode table's base is respondents with a valid postcode; the blank and invalid ones are
    counted here (counts only, never the postcodes) so the reader sees who is missing.
    """
    if t.statistic != "postcode_country" or data is None:
        return []
    return [excluded(population_frame(data.responses, t.population), t.question).note()]


def _ci(r: Mapping[str, Any]) -> str:
    lo, hi = round_half_up(r["ci_low"]), round_half_up(r["ci_high"])
    return "" if lo is None or hi is None else f"{lo}–{hi}"


def _value(r: Mapping[str, Any]) -> float | None:
    return None if r["pct_display"] in ("", "[c]") or r["pct"] is None else float(r["pct"])


def _chart(t: TableSpec, shown: pl.DataFrame, labels: Mapping[str | None, str]) -> Markup | str:
    if t.chart == "none" or shown.height == 0:
        return ""
    groups = shown.partition_by("group", maintain_order=True, include_key=True)
    if t.chart == "stacked":
        stacked = [
            (
                labels.get(g["group"][0], g["group"][0] or t.title),
                [
                    charts.Bar(r["row_label"], _value(r), _pct_text(r))
                    for r in g.iter_rows(named=True)
                ],
            )
            for g in groups
        ]
        legend = groups[0]["row_label"].to_list()
        return charts.stacked_chart(stacked, title=t.title, legend=legend)
    parts = []
    for g in groups:
        key = g["group"][0]
        heading = labels.get(key, key) if key else None
        title = t.title + (f" — {heading}" if heading else "")
        if t.statistic == "ratio":
            bars = [_ratio_bar(r) for r in g.iter_rows(named=True)]
            top = max([b.value for b in bars if b.value is not None] + [1.0])
            axis = "Ratio of solely formal to solely informal interactions"
            parts.append(
                charts.bar_chart(
                    bars,
                    title=title,
                    axis_label=axis,
                    colour=charts.colour_for(key),
                    scale_max=top,
                    heading=heading,
                )
            )
            continue
        bars = [
            charts.Bar(r["row_label"], _value(r), _pct_text(r)) for r in g.iter_rows(named=True)
        ]
        axis = "Percentage of base (%)"
        parts.append(
            charts.bar_chart(
                bars, title=title, axis_label=axis, colour=charts.colour_for(key), heading=heading
            )
        )
    return Markup("").join(parts)


def _pct_text(r: Mapping[str, Any]) -> str:
    text = r["pct_display"]
    return "" if text == "" else (text if text.startswith("[") else f"{text}%")


def _ratio_bar(r: Mapping[str, Any]) -> charts.Bar:
    ok = r["ratio"] is not None and r["pct_display"] != "[c]"
    text = f"{r['ratio']:.2f} (n={r['base_display']})" if ok else f"n/a (n={r['base_display']})"
    return charts.Bar(r["row_label"], r["ratio"] if ok else None, text)


def key_findings(
    tables: Mapping[str, pl.DataFrame],
    tables_spec: TablesSpec,
    profile: str,
    shown: Mapping[str, pl.DataFrame] | None = None,
) -> list[str]:
    """The most selected answer of each ungrouped published chart (of every ungrouped chart when
    the survey has no published figures), with its percentage and base."""
    out: list[str] = []
    defaults = tables_spec.defaults.model_dump()
    # A survey with no published figures (a drafted spec): every ungrouped table is a candidate.
    any_published = any(t.published for t in tables_spec)
    for t in tables_spec:
        if any_published and not t.published:
            continue
        if t.chart == "none" or t.group_by or t.statistic == "ratio":
            continue
        table = shown[t.id] if shown is not None else displayed(tables[t.id], t, profile, defaults)
        table = table.filter(
            ~pl.col("pct_display").is_in(["", "[c]"]) & pl.col("pct").is_not_null()
        )
        if t.extra_groups:
            table = table.filter(pl.col("group").is_null())
        if table.height == 0:
            continue
        top = table.sort("pct", descending=True, maintain_order=True).row(0, named=True)
        out.append(finding_sentence(t, top))
        if len(out) >= MAX_FINDINGS:
            break
    return out


def finding_sentence(t: TableSpec, top: Mapping[str, Any]) -> str:
    """One key finding in plain English: who, how many, what they said, and the question.

    'Asked "Which ... sector you work in?", 28% of all usable respondents (n=296) answered
    "Youth ...", the most common answer.' A postcode table says where respondents work.
    """
    who = f"{top['pct_display']}% of {fill_placeholder(t.base_text)} (n={top['base']:,})"
    label = top["row_label"]
    if t.statistic == "postcode_country":
        return f"{who} gave a postcode in {label}, more than any other country."
    verb = "selected" if t.statistic == "multi_response" else "answered"
    if t.title.rstrip().endswith("?"):
        return f'Asked "{t.title.strip()}", {who} {verb} "{label}", the most common answer.'
    return f'{t.title.strip()}: {who} {verb} "{label}", the most common answer.'


def fill_placeholder(text: str, item: str | None = None) -> str:
    """A wording with ``{item}`` said in words: the group's label when there is one, else
    'each sector in turn' (the loop's tables give one base per sector)."""
    return text.replace("{item}", item.lower() if item else "each sector in turn")


def funnel_context(
    funnel: pl.DataFrame, partial_block: str | None = "background"
) -> dict[str, Any]:
    """Funnel rows and chart; the partial-removal label names the spec's partial rule."""
    labels = dict(FUNNEL_LABELS)
    if partial_block != "background":
        labels["removed_partial"] = (
            "Removed: partial (nothing answered)"
            if partial_block is None
            else f"Removed: partial (nothing after the {partial_block} questions)"
        )
    steps = [(labels.get(s, s), int(c), FUNNEL_LEVEL.get(s, 0)) for s, c in funnel.iter_rows()]
    rows = [{"label": label, "count": c} for label, c, _ in steps]
    svg = charts.funnel_chart(steps, title="Cleaning funnel") if steps else ""
    return {"rows": rows, "svg": svg}


def check_context(check: pl.DataFrame) -> dict[str, Any]:
    """The published-figures check as an appendix: the summary and which figures differ, by
    figure with counts (the cell-by-cell detail is published_check.csv)."""
    s = summary(check)
    by_figure = (
        check.filter(pl.col("status") != "match")
        .group_by("figure", "status", maintain_order=True)
        .len()
        .sort("figure", "status")
    )
    return {
        "summary": s,
        "share": f"{s['share'] * 100:.0f}",
        "figures": [{"figure": f, "status": st, "count": n} for f, st, n in by_figure.iter_rows()],
        "mismatched": s["mismatched"],
        "not_computed": s["not_computed"],
    }


def others_context(
    others: pl.DataFrame | None, spec: Questionnaire, names: Sequence[str] = ()
) -> dict[str, Any] | None:
    """Unreviewed "Other" texts: how many answers, what they were counted as, each text
    (redacted) with its count and suggestion; None when there is no recode rule."""
    from pipeline.core.safety.redact import Redactor
    from pipeline.survey.clean import unreviewed

    rule = spec.model.cleaning.other_recode
    if others is None or rule is None:
        return None
    labels = {o.code: o.label for o in spec.options(spec.question(rule.question))}
    todo = unreviewed(others)
    redactor = Redactor(names)
    rows = [
        {
            "text": redactor.redact(r["text"]) if r["text"] else "(blank)",
            "answers": r["answers"],
            "counted_as": labels.get(r["counted_as"], r["counted_as"]),
            "suggested": labels.get(r["suggested"], "") if r["suggested"] else "",
            # cosine can be a hair below 0; shown clipped at 0.00 rather than "-0.00"
            "similarity": "" if r["similarity"] is None else f"{max(r['similarity'], 0.0):.2f}",
            "note": r["note"] or "",
        }
        for r in todo.iter_rows(named=True)
    ]
    reviewed = others.filter(pl.col("status") == "reviewed").height
    return {
        "question": rule.question,
        "table": rule.table,
        "total": others.height,
        "reviewed": reviewed,
        "answers": int(todo["answers"].sum()) if todo.height else 0,
        "rows": rows,
        "min_similarity": f"{rule.min_similarity:.2f}",
    }


def methods_context(
    spec: Questionnaire, tables_spec: TablesSpec, ledger: pl.DataFrame
) -> dict[str, Any]:
    """Cleaning counts by rule, routing, each base definition and question wording."""
    cleaning: list[dict[str, Any]] = []
    if ledger.height and {"rule", "action"} <= set(ledger.columns):
        counted = ledger.group_by("rule", "action").len().sort("rule", "action")
        cleaning = [{"rule": r, "action": a, "count": n} for r, a, n in counted.iter_rows()]
    routes = [
        {"id": rid, "label": r.label, "sectors": ", ".join(r.sectors)}
        for rid, r in spec.routes.items()
    ]
    bases = [
        {
            "table": t.id,
            "rule": t.base,
            "rule_words": BASE_WORDS[t.base],
            "population": t.population.label,
            "base_text": fill_placeholder(t.base_text),
            "statistic": t.statistic,
        }
        for t in tables_spec
    ]
    seen: dict[str, dict[str, str]] = {}
    for t in tables_spec:
        for qid in (t.question, *(eg.question for eg in t.extra_groups)):
            q = spec.question(qid)
            seen.setdefault(
                qid,
                {
                    "id": qid,
                    "text": _wording(spec, q),
                    "wording": q.wording,
                    "source": q.source or "",
                },
            )
    return {
        "cleaning": cleaning,
        "routed": spec.model.routing is not None,
        "routes": routes,
        "bases": bases,
        "questions": list(seen.values()),
    }


def _wording(spec: Questionnaire, q: Any) -> str:
    """A loop question's wording with ``{item}`` shown as [sector] and the items it was asked
    about listed; earlier or later wordings (aliases) named."""
    text = q.text
    if q.loop:
        items = spec.model.loops[q.loop].items
        text = (
            text.replace("{item}", "[…]")
            + " Asked about each of: "
            + "; ".join(i.text for i in items)
            + "."
        )
    if q.aliases:
        text += " Also accepted as: " + " / ".join(a.replace("{item}", "[…]") for a in q.aliases)
    return text


def provenance(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Manifest entries as (key, text) pairs; nested values as compact sorted JSON."""
    out = []
    for key in sorted(manifest):
        value = manifest[key]
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        out.append((str(key), text))
    return out


def quotes_context(quotes: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """Quotes as plain strings for the templates (which escape them); a disclosure warning
    travels with each quote from a small group so a reviewer sees it beside the words."""
    keys = ("text", "source", "question", "question_text", "ref", "warning")
    return [{k: str(q.get(k) or "") for k in keys} for q in quotes or ()]
