"""Write the survey report bundle: tidy CSVs, an XLSX workbook, the published check, HTML and MD.

The runner passes a staged directory (``pipeline.core.safety.atomic.staged_dir``), so this module just
writes files into it. Disclosure control is applied once per table and the same display values
go to CSV, XLSX, HTML and Markdown; the ``analysis`` profile shows everything and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.core.paths import TEMPLATES
from pipeline.core.safety.atomic import atomic_write_text
from pipeline.core.safety.export import write_csv
from pipeline.core.safety.html import (
    assert_rendered_clean,
    csp_meta,
    make_environment,
    style_blocks,
)
from pipeline.core.safety.markdown import (
    assert_markdown_clean,
    make_markdown_environment,
    md_escape,
)
from pipeline.core.timeutil import generation_stamp
from pipeline.survey.questionnaire import Questionnaire
from pipeline.survey.report import context as ctx
from pipeline.survey.report.workbook import write_publication_xlsx
from pipeline.survey.tables.definitions import TablesSpec
from pipeline.survey.tables.engine import TIDY_COLUMNS

PROFILE_NOTES = {
    "analysis": (
        "Analysis profile: every count and percentage is shown, including small cells and "
        "percentages on low bases. Not for publication without disclosure review."
    ),
    "publication": (
        "Publication profile: counts of 1-9 and their percentages are shown as [c], and so are "
        "bases of 1-9; a complementary cell is also [c] wherever a hidden value could otherwise "
        "be recovered by subtraction, within a table or from a related table (a total and its "
        "breakdown); percentages on bases under 10 are [c]; [low] marks bases under 30."
    ),
}
md_cell = md_escape  # a Markdown table cell: the Markdown environment's own escaping


def publication_frame(shown: pl.DataFrame) -> pl.DataFrame:
    """The tidy columns with n and pct replaced by their disclosure-controlled display text."""
    hidden = pl.col("pct_display") == "[c]"
    return shown.select(
        "table_id",
        "group",
        "row",
        "row_label",
        pl.col("n_display").alias("n"),
        pl.col("base_display").alias("base"),
        pl.col("pct_display").alias("pct"),
        "ci_low",
        "ci_high",
        pl.coalesce(pl.col("flag"), pl.col("note")).alias("flag"),
        pl.when(hidden).then(None).otherwise(pl.col("ratio")).alias("ratio"),
    )


def write_survey_report(
    out_dir: Path,
    *,
    data: Any,
    tables: Mapping[str, pl.DataFrame],
    check: pl.DataFrame | None,
    funnel: pl.DataFrame,
    ledger: pl.DataFrame,
    manifest: Mapping[str, Any],
    spec: Questionnaire,
    tables_spec: TablesSpec,
    profile: str = "analysis",
    synthetic: bool,
    quotes: list[dict[str, Any]] | None = None,
    others: pl.DataFrame | None = None,
    names: Sequence[str] = (),
) -> list[Path]:
    """Write ``tables/<id>.csv``, ``tables.xlsx``, ``report.html``/``.md`` and, when a published
    check was run (``check`` given), ``published_check.csv`` and a short appendix.

    Everything is built from the computed tables except notes the tidy grain cannot hold (how
    many blank or invalid postcodes were left out of Figure F-2's base), which need ``data``.
    """
    if profile not in PROFILE_NOTES:
        raise ValueError(f"unknown profile {profile!r}")
    out_dir = Path(out_dir)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    thresholds = tables_spec.defaults.model_dump()
    written: list[Path] = []
    sections = []
    tidy_of = {t.id: tables[t.id].select(TIDY_COLUMNS) for t in tables_spec}
    shown_of = ctx.displayed_all(tidy_of, tables_spec, profile)
    for t in tables_spec:
        tidy, shown = tidy_of[t.id], shown_of[t.id]
        frame = tidy if profile == "analysis" else publication_frame(shown)
        path = out_dir / "tables" / f"{t.id}.csv"
        write_csv(frame, path)
        written.append(path)
        sec = ctx.section(t, tidy, spec, profile, thresholds, shown)
        sec["notes"] += ctx.data_notes(t, data)
        sections.append(sec)
    write_publication_xlsx(
        out_dir / "tables.xlsx",
        sections,
        title=spec.model.title,
        synthetic=synthetic,
        profile_note=PROFILE_NOTES[profile],
    )
    written.append(out_dir / "tables.xlsx")
    if check is not None:
        write_csv(check, out_dir / "published_check.csv")
        written.append(out_dir / "published_check.csv")

    context = {
        "title": spec.model.title,
        "survey": spec.survey,
        "source": spec.model.source,
        "synthetic": synthetic,
        "draft": spec.model.status == "draft",
        "profile": profile,
        "profile_note": PROFILE_NOTES[profile],
        "generated_at": str(manifest.get("generated_at") or generation_stamp()),
        "key_findings": ctx.key_findings(tables, tables_spec, profile, shown_of),
        "funnel": ctx.funnel_context(funnel, spec.model.cleaning.partial_after_block),
        "sections": sections,
        "check": ctx.check_context(check) if check is not None else None,
        "others": ctx.others_context(others, spec, names),
        "methods": ctx.methods_context(spec, tables_spec, ledger),
        "provenance": ctx.provenance(manifest),
        "quotes": ctx.quotes_context(quotes),
    }
    html, md = render(context)
    atomic_write_text(out_dir / "report.html", html)
    atomic_write_text(out_dir / "report.md", md)
    return [*written, out_dir / "report.html", out_dir / "report.md"]


def render(context: Mapping[str, Any], template_dir: Path = TEMPLATES) -> tuple[str, str]:
    """Render both reports; the stylesheet is hashed into the CSP and checked after rendering."""
    env = make_environment(template_dir)
    css = env.get_template("_base.css").render()
    html = env.get_template("survey_report.html.j2").render(**context, csp=csp_meta([css]))
    if style_blocks(html) != [css]:
        raise RuntimeError(
            "rendered <style> differs from the hashed stylesheet; CSP would block it"
        )
    assert_rendered_clean(html)
    md = (
        make_markdown_environment(template_dir)
        .get_template("survey_report.md.j2")
        .render(**context)
    )
    assert_markdown_clean(md)
    return html, md
