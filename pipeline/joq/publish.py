"""Render and write the month report and the trends page (the I/O edge of report/trends).

The month directory also holds files from other stages (review.xlsx, other_review.csv, ...); the
report is staged in a fresh directory that first receives copies of those, so the swap replaces
only the report files and a failed render leaves the previous report intact.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Iterable
from pathlib import Path

import jinja2
import polars as pl
from markupsafe import Markup

from pipeline.core.errors import InputError
from pipeline.core.hashing import file_sha256
from pipeline.core.manifest import build_manifest, input_hashes
from pipeline.core.paths import TEMPLATES
from pipeline.core.safety.atomic import atomic_write_text, staged_dir
from pipeline.core.safety.disclosure import publication_table
from pipeline.core.safety.export import write_csv
from pipeline.core.safety.html import csp_meta, make_environment, style_blocks
from pipeline.core.safety.markdown import (
    assert_markdown_clean,
    make_markdown_environment,
    md_escape,
)
from pipeline.core.safety.pseudonym import load_key
from pipeline.core.safety.redact import Redactor
from pipeline.core.timeutil import generation_stamp
from pipeline.joq import charts, exports, quotes, store, trends
from pipeline.joq import report as rep
from pipeline.joq.flow import Session, stored_agreement, taxonomy_file

REPORT_FILES = (
    "report.html",
    "report.md",
    "tables",
    "manifest.json",
    "coded_answers.csv",
    "coded_answers.xlsx",
)
LAST = ("Other", "All of the above")  # kept at the end of sorted charts, as published
QUOTES_IN_BODY = 3  # per code in the report body; every quotable answer is in the appendix


def f2(value: object) -> str:
    """Two decimals; an undefined measure (None/NaN) shows as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    return f"{float(value):.2f}"  # type: ignore[arg-type]


def environment(template_dir: Path = TEMPLATES) -> jinja2.Environment:
    env = make_environment(template_dir)
    env.filters["f2"] = f2
    return env


def markdown_environment(template_dir: Path = TEMPLATES) -> jinja2.Environment:
    """Markdown outputs escape for Markdown, not HTML (pipeline.core.safety.markdown)."""
    env = make_markdown_environment(template_dir)
    env.filters["f2"] = lambda v: md_escape(f2(v))
    return env


def render_html(template: str, context: dict, template_dir: Path = TEMPLATES) -> str:
    """Render twice: first to read the exact inline <style> blocks, then with their CSP hashes."""
    env = environment(template_dir)
    first = env.get_template(template).render(**context, csp=Markup(""))
    return env.get_template(template).render(**context, csp=csp_meta(style_blocks(first)))


def machine_codes(s: Session, month: str) -> pl.DataFrame:
    """The latest run's machine codes (kept even where a coder overrode them)."""
    return store.query(
        s.con,
        "SELECT response_id, code_id, score FROM joq_machine_codes WHERE month = ?",
        [month],
    )


def month_context(
    s: Session, month: str, names: Iterable[str] = (), profile: str = "analysis"
) -> tuple[dict, dict, pl.DataFrame]:
    """Everything the month templates need, the tidy tables by id, and ``coded_answers``. With
    ``profile="publication"`` the tables are disclosure-controlled, so the same [c] cells reach
    CSV, HTML and Markdown (breakdowns carry the publication profile in both profiles)."""
    frame, tax = s.frame(month), s.taxonomy()
    usable = store.responses(s.con, month, usable_only=True)
    if usable.height == 0:
        raise InputError(
            f"month {month} has no usable answers imported",
            fix=f"run `joinedup joq import FILE --month {month}`",
        )
    final = store.final_codes(s.con, month)
    if final.height == 0:
        raise InputError(
            f"month {month} has not been coded", fix=f"run `joinedup joq code {month}` first"
        )
    all_rows = store.responses(s.con, month)
    imp = store.current_import(s.con, month) or {}
    run = store.latest_run(s.con, month) or {}
    excluded = set(
        store.latest_decisions(s.con, month)
        .filter(pl.col("exclude_quote"))["response_id"]
        .to_list()
    )
    redactor = Redactor(names)
    emb = s.embed(usable["text"].to_list())
    codes, by_sector, themes = rep.codes_tables(usable, final, frame, tax)
    has_sectors = bool(frame.sectors) and rep.sector_respondents(all_rows).height > 0
    tables: dict[str, pl.DataFrame] = {}
    if has_sectors:
        tables["figure-G-1"] = rep.sector_table(all_rows, frame)
        tables["joq-coselection"] = rep.coselection_table(all_rows, frame)
    tables["joq-codes"] = codes
    if has_sectors:
        tables["joq-codes-by-sector"] = rep.publishable(by_sector)
    tables["joq-taxonomy-themes"] = themes
    if profile == "publication":  # multi-response tables: no row sums to a base
        tables = {k: publication_table(v) for k, v in tables.items()}
    breakdowns = []
    for col in rep.breakdown_columns(usable):
        table_id = f"joq-codes-by-{col}"
        by_col = rep.codes_by(usable, final, frame, col)
        tables[table_id] = publication_table(by_col) if profile == "publication" else by_col
        breakdowns.append(
            {"column": col, "table_id": table_id, **rep.breakdown_matrix(tables[table_id])}
        )
    by_code = quotes.code_quotes(usable, final, emb, frame, excluded, redactor)
    consent = quotes.consent_summary(usable, excluded)
    charted = [k for k in ("figure-G-1", "joq-codes", "joq-taxonomy-themes") if k in tables]
    agreement = stored_agreement(s, month)
    labels = {c.id: c.label for c in frame.codes}
    ctx = {
        "month": month,
        "profile": profile,
        "question": frame.question,
        "frame_version": frame.version,
        "frame_status": frame.status,
        "model_id": run.get("model_id", s.embedder.model_id),
        "seeds": run.get("seeds", {}),
        "thresholds": run.get("thresholds", {}),
        "history": run.get("history", {}),
        "run_id": run.get("run_id", ""),
        "generated": generation_stamp(),
        "synthetic": bool(imp.get("synthetic")),
        "source_file": imp.get("file", ""),
        "source_sha256": imp.get("sha256", ""),
        "n_rows": all_rows.height,
        "n_nonanswers": all_rows.height - usable.height,
        "status": rep.review_status(usable, final),
        "has_sectors": has_sectors,
        "codes": [
            {
                "id": c.id,
                "label": c.label,
                "theme": tax.label(c.theme),
                "definition": c.definition,
                "quotes": by_code[c.id]["quotes"][:QUOTES_IN_BODY],
                "appendix": by_code[c.id]["quotes"],
                "coded": by_code[c.id]["coded"],
                "withheld": by_code[c.id]["withheld"],
            }
            for c in frame.codes
        ],
        "consent": consent,
        "consent_rule": quotes.rule_text(consent),
        "sector_matrix": rep.breakdown_matrix(tables["joq-codes-by-sector"])
        if has_sectors
        else None,
        "labels": labels,
        "tables": {k: v.to_dicts() for k, v in tables.items()},
        "breakdowns": breakdowns,
        "breakdown_min_cell": rep.BREAKDOWN_MIN_CELL,
        "charts": {k: charts.bar_chart(tables[k].to_dicts(), last=LAST) for k in charted},
        "sorted": {k: charts.ordered(tables[k].to_dicts(), last=LAST) for k in charted},
        "agreement": agreement.to_dicts() if agreement is not None else None,
    }
    answers = exports.coded_answers(
        all_rows, final, machine_codes(s, month), frame, excluded, redactor, load_key()
    )
    return ctx, tables, answers


def decisions_sha256(s: Session, month: str) -> str:
    """Digest of the human decisions in force (the latest per answer), which decide final codes."""
    latest = store.latest_decisions(s.con, month).sort("response_id")
    latest = latest.with_columns(pl.col("codes").list.join(";"))
    return hashlib.sha256(latest.write_csv().encode("utf-8")).hexdigest()


def month_manifest(s: Session, month: str, ctx: dict, names: Iterable[str] = ()) -> dict:
    """Provenance of the month report (requirement 18): the export's SHA-256, the frame version and
    file hash, the embedding model id and weights hash, the coding run, seeds and thresholds, plus
    package versions, git commit and generation time (``build_manifest``). Deny-list names are
    counted, never written."""
    frame_file = s.frames_dir / f"{month}.yaml"
    model_id = str(ctx["model_id"])
    return build_manifest(
        stage="joq-month-report",
        month=month,
        input={
            "file": ctx["source_file"],
            "sha256": ctx["source_sha256"],
            "rows": ctx["n_rows"],
            "synthetic": ctx["synthetic"],
        },
        frame={
            "version": ctx["frame_version"],
            "status": ctx["frame_status"],
            "sha256": file_sha256(frame_file) if frame_file.is_file() else "",
        },
        model={
            "id": model_id,
            "weights_sha256": model_id.split("@sha256:", 1)[1]
            if "@sha256:" in model_id
            else "none (no weights: hashing embedder)",
        },
        inputs={
            **input_hashes(
                {
                    "taxonomy": taxonomy_file(s.frames_dir, s.taxonomy_path),
                    "templates": TEMPLATES,
                }
            ),
            "decisions": decisions_sha256(s, month),
        },
        run_id=ctx["run_id"],
        seeds=ctx["seeds"],
        thresholds=ctx["thresholds"],
        training_history=ctx["history"],
        redaction_names=len({n for n in names if n.strip()}),
        profile=ctx["profile"],
    )


def write_month_report(
    s: Session, month: str, names: Iterable[str] = (), profile: str = "analysis"
) -> Path:
    """report.html/.md, tables/*.csv, coded_answers.csv/.xlsx and manifest.json, swapped in
    together; other stages' files in the month folder are carried over untouched."""
    if profile not in ("analysis", "publication"):
        raise InputError(
            f"unknown profile '{profile}'", fix="use --profile analysis or publication"
        )
    store.require_current(s.con, month)  # a replaced export: refuse until `joq code` has run
    names = list(names)
    ctx, tables, answers = month_context(s, month, names, profile)
    manifest = month_manifest(s, month, ctx, names)
    html = render_html("joq_month.html.j2", ctx)
    md = markdown_environment().get_template("joq_month.md.j2").render(**ctx)
    assert_markdown_clean(md)
    final = s.month_dir(month)
    with staged_dir(final) as tmp:
        if final.is_dir():
            for p in final.iterdir():
                if p.name not in REPORT_FILES:
                    (shutil.copytree if p.is_dir() else shutil.copy2)(p, tmp / p.name)
        atomic_write_text(tmp / "report.html", html)
        atomic_write_text(tmp / "report.md", md)
        atomic_write_text(
            tmp / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        )
        for table_id, df in tables.items():
            write_csv(df, tmp / "tables" / f"{table_id}.csv")
        write_csv(answers, tmp / "coded_answers.csv")
        exports.write_xlsx(answers, tmp / "coded_answers.xlsx", coded_answers_notes(ctx))
    return final / "report.html"


def coded_answers_notes(ctx: dict) -> list[str]:
    """The ``about`` sheet of coded_answers.xlsx: what the file is and how it was made."""
    c = ctx["consent"]
    rule = (
        "quotable = consent yes and not excluded by a reviewer"
        if c["asked"]
        else "no consent question in this export: quotable unless a reviewer excluded it"
    )
    return [
        "SYNTHETIC reference data, not real respondents." if ctx["synthetic"] else "",
        f"Just One Question {ctx['month']}: one row per imported answer ({ctx['n_rows']}), "
        f"{ctx['status']['usable']} coded; generated {ctx['generated']}.",
        "respondent: keyed pseudonym of the response id; text redacted for publication.",
        "decided_by: coder <name> where a human decision stands, else machine.",
        rule + ".",
    ]


def write_trends(s: Session) -> Path:
    tax = s.taxonomy()
    per_month = {}
    for month in store.months(s.con):
        final = store.final_codes(s.con, month)
        if final.height:
            in_frame = set(
                store.query(
                    s.con, "SELECT DISTINCT theme FROM joq_code_themes WHERE month = ?", [month]
                )["theme"].to_list()
            )
            base = store.responses(s.con, month, usable_only=True).height
            per_month[month] = (base, final, in_frame)
    table = trends.trends_table(per_month, tax)
    ranked = trends.ranked_themes(table)
    months = sorted(per_month)
    rest = trends.series(table, ranked[trends.TOP_N :])
    ctx = {
        "months": months,
        "chart": charts.small_multiples(trends.series(table, ranked[: trends.TOP_N]), months),
        "top_n": min(trends.TOP_N, len(ranked)),
        "rest": [{"label": k, "values": [v.get(m) for m in months]} for k, v in rest.items()],
        "rows": table.to_dicts(),
        "generated": generation_stamp(),
        "synthetic": any(
            bool((store.current_import(s.con, m) or {}).get("synthetic")) for m in per_month
        ),
    }
    html = render_html("joq_trends.html.j2", ctx)
    final = s.out / "joq_trends"
    with staged_dir(final) as tmp:
        atomic_write_text(tmp / "trends.html", html)
        write_csv(table, tmp / "trends.csv")
    return final / "trends.html"
