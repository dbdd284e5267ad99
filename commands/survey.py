"""`joinedup survey ...`: run a survey export through the pipeline, or one stage of it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from commands.common import handle_errors

if TYPE_CHECKING:
    import polars as pl

app = typer.Typer(
    no_args_is_help=True, help="Survey exports: ingest, clean, validate, route, tables, report."
)

Export = Annotated[
    Path,
    typer.Argument(help="SurveyMonkey/Qualtrics/plain export (CSV or XLSX)", show_default=False),
]
Survey = Annotated[
    str, typer.Option("--survey", "-s", help="survey spec name under schemas/surveys/, or a path")
]
Out = Annotated[
    Path, typer.Option("--out", "-o", help="output root; the report goes in OUT/<survey>/")
]
Sheet = Annotated[str | None, typer.Option("--sheet", help="XLSX sheet holding the responses")]


class Profile(StrEnum):
    """Disclosure profile of the outputs (typer validates the choice)."""

    analysis = "analysis"
    publication = "publication"


ProfileOption = Annotated[
    Profile,
    typer.Option(
        "--profile", help="analysis (everything shown) or publication (disclosure control)"
    ),
]
REF = "data/reference/interactions_2025_export.csv"


@app.command()
@handle_errors
def run(
    export: Export,
    survey: Survey = "interactions_2025",
    out: Out = Path("reports/out"),
    profile: ProfileOption = Profile.analysis,
    sheet: Sheet = None,
    suggest: Annotated[
        bool, typer.Option(help="suggest categories for unreviewed 'Other' answers")
    ] = True,
    allow_draft: Annotated[
        bool,
        typer.Option(
            "--allow-draft", help="run a spec `survey init` drafted (status: draft); marked DRAFT"
        ),
    ] = False,
    check_published: Annotated[
        bool,
        typer.Option(
            "--check-published",
            help="compare with the published 2025 figures (reference export) and add an appendix",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="refuse to run while any 'Other' answer is unreviewed"),
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="recompute even when nothing changed since the report was written"
        ),
    ] = False,
) -> None:
    """Run every stage and write the report directory; the report path is the last line.
    When nothing that decides the report changed since it was written (export, spec, templates,
    code, packages, options, key) and it is intact, it is kept as it is (say --fresh to redo it).

    Example: joinedup survey run data/reference/interactions_2025_export.csv
    """
    from pipeline.survey.flow import Prepared, run_survey

    seen: list[Prepared] = []
    reused: list[Path] = []
    final = run_survey(
        export,
        survey,
        out,
        profile=profile.value,
        suggest=suggest,
        sheet=sheet,
        allow_draft=allow_draft,
        check_published=check_published,
        strict=strict,
        on_prepared=seen.append,
        fresh=fresh,
        on_reused=reused.append,
    )
    if reused:
        import polars as pl

        from pipeline.survey.clean import WORKING

        typer.echo(
            "nothing changed since this report was written (same export, spec, templates, code "
            "and options): kept as it is; --fresh recomputes it"
        )
        review = pl.read_csv(final / WORKING / "other_review.csv", infer_schema=False)
    else:
        review = seen[0].cleaned.other_review
    _summary(final, review, export, survey)
    typer.echo(f"Report written to {final}/report.html")


def _summary(final: Path, review: pl.DataFrame, export: Path, survey: str) -> None:
    """What needs a person before the report can go out: unreviewed 'Other' answers (from the
    run's own review list), and the published check when one was run."""
    import polars as pl

    from commands.printing import safe_line
    from pipeline.survey.clean import unreviewed

    todo = unreviewed(review)
    if todo.height:
        typer.echo(
            f"{todo['answers'].sum()} 'Other' answer(s), {todo.height} distinct text(s), are not "
            "in the reviewed recode table and are counted as 'Other':"
        )
        for r in todo.head(15).iter_rows(named=True):
            hint = f" (suggested: {r['suggested']})" if r["suggested"] else ""
            hint += f"; {r['note']}" if r["note"] else ""
            typer.echo(f"  {r['answers']:>4}  {safe_line(r['text'], 60)}{hint}")
        if todo.height > 15:
            typer.echo(f"  ... and {todo.height - 15} more in working/other_review.csv")
        typer.echo(
            f"  review them: joinedup survey others {export} --survey {survey} "
            "(then add entries to the recode table and run again; --strict refuses until then)"
        )
    check = final / "published_check.csv"
    if check.is_file():
        c = pl.read_csv(check, infer_schema=False)
        matched = c.filter(pl.col("status") == "match").height
        if c.height:
            typer.echo(f"published figures check: {matched} of {c.height} reproduced (appendix)")
        else:
            typer.echo("published figures check: this survey has no published figures to compare")


@app.command()
@handle_errors
def others(export: Export, survey: Survey = "interactions_2025", sheet: Sheet = None) -> None:
    """List unreviewed 'Other' answers with counts and suggestions, as recode-table entries to
    edit and paste (nothing is written; the placeholders must be filled in before a run accepts them).

    Example: joinedup survey others data/reference/interactions_2025_export.csv
    """
    from commands.printing import safe_line, yaml_string
    from pipeline.survey.clean import unreviewed
    from pipeline.survey.flow import prepare

    p = prepare(export, survey, suggest=True, sheet=sheet)
    todo = unreviewed(p.cleaned.other_review)
    rule = p.spec.model.cleaning.other_recode
    if not todo.height:
        typer.echo("every 'Other' answer is in the reviewed recode table")
        return
    table = p.spec.directory / (rule.table if rule else "recodes.yaml")
    floor = rule.min_similarity if rule else 0.0
    typer.echo(
        f"# {todo['answers'].sum()} answer(s), {todo.height} distinct text(s); add to {table}"
    )
    typer.echo(f"# suggestions only at similarity >= {floor:.2f}; CHOOSE means no suggestion")
    for r in todo.iter_rows(named=True):
        sim = "" if r["similarity"] is None else f", similarity {r['similarity']:.2f}"
        note = f"; {r['note']}" if r["note"] else ""
        typer.echo(f"  # {r['answers']} answer(s){sim}{note}")
        typer.echo(
            f"  - {{text: {yaml_string(safe_line(r['text'], 500))}, "
            f"category: {r['suggested'] or 'CHOOSE'}, reviewed_by: INITIALS, reviewed_on: YYYY-MM-DD}}"
        )


@app.command()
@handle_errors
def init(
    export: Export,
    survey: Annotated[
        str, typer.Option("--survey", "-s", help="name of the new survey spec (snake_case)")
    ],
    banner: Annotated[
        str | None,
        typer.Option("--banner", help="question id to crosstab every other closed question by"),
    ] = None,
    into: Annotated[
        Path | None,
        typer.Option("--into", help="spec folder to write (default schemas/surveys/SURVEY/)"),
    ] = None,
    sheet: Sheet = None,
) -> None:
    """Draft a questionnaire spec and tables from an export (status: draft), for review.

    If the spec already exists, nothing is written: what differs between it and this export
    (a second wave) is listed instead.

    Example: joinedup survey init export.csv --survey youth_census_2026
    """
    from pipeline.survey.infer import init_survey

    result = init_survey(export, survey, into=into, banner=banner, sheet=sheet)
    for line in result.summary():
        typer.echo(line)
    if result.written:
        typer.echo(f"Draft spec written to {result.directory}/ (questionnaire.yaml, tables.yaml)")
        target = survey if into is None else f"{result.directory}/questionnaire.yaml"
        typer.echo(
            "Review every `inferred:` line, then set `status: reviewed`; until then run it with "
            f"`joinedup survey run {export} --survey {target} --allow-draft`"
        )
        return
    assert result.diff is not None
    typer.echo(f"A spec already exists in {result.directory}/: nothing was written.")
    typer.echo("Compared with this export:")
    for line in result.diff.lines():
        typer.echo(line)


@app.command()
@handle_errors
def ingest(export: Export, survey: Survey = "interactions_2025", sheet: Sheet = None) -> None:
    """Read and map an export; print what was found (nothing is written).

    Example: joinedup survey ingest data/reference/interactions_2025_export.csv
    """
    from pipeline.survey.ingest import read_export
    from pipeline.survey.questionnaire import load_questionnaire

    r = read_export(export, load_questionnaire(survey), sheet=sheet)
    typer.echo(
        f"{export}: {r.raw_rows} responses, layout {r.layout} ({r.header_rows} header rows), "
        f"encoding {r.encoding}, {len(r.dropped_columns)} identifying columns dropped "
        f"({', '.join(r.dropped_columns)})"
    )
    for note in r.notes:
        typer.echo(f"note: {note}")


@app.command()
@handle_errors
def clean(export: Export, survey: Survey = "interactions_2025", sheet: Sheet = None) -> None:
    """Ingest, validate and clean; print the funnel (nothing is written).

    Example: joinedup survey clean data/reference/interactions_2025_export.csv
    """
    from pipeline.survey.flow import prepare

    p = prepare(export, survey, suggest=False, sheet=sheet)
    for step, count in p.cleaned.funnel.iter_rows():
        typer.echo(f"{step:<20}{count:>6}")


@app.command()
@handle_errors
def validate(export: Export, survey: Survey = "interactions_2025", sheet: Sheet = None) -> None:
    """Run the data contracts for every layer; exit 2 listing every failure.

    Example: joinedup survey validate data/reference/interactions_2025_export.csv
    """
    from pipeline.survey.flow import prepare

    for report in prepare(export, survey, suggest=False, sheet=sheet).validation:
        typer.echo(report.text())


@app.command()
@handle_errors
def route(export: Export, survey: Survey = "interactions_2025", sheet: Sheet = None) -> None:
    """Route usable respondents and reshape the question loops; print the sizes.

    Example: joinedup survey route data/reference/interactions_2025_export.csv
    """
    from pipeline.survey.flow import prepare

    data = prepare(export, survey, suggest=False, sheet=sheet).data
    for r, frame in data.routes.items():
        typer.echo(f"route {r}: {frame.height} respondents")
    for loop, frame in data.loops.items():
        typer.echo(
            f"loop {loop}: {frame.height} respondent x item rows (one per item interacted with)"
        )


@app.command()
@handle_errors
def verify(
    export: Annotated[Path, typer.Argument(help="export to regenerate tables from")] = Path(REF),
    survey: Survey = "interactions_2025",
    out: Out = Path("reports/out"),
) -> None:
    """Regenerate the tables and compare them with the published figures; exit 1 on drift.

    Example: joinedup survey verify data/reference/interactions_2025_export.csv
    """
    from pipeline.core.paths import output_dir
    from pipeline.core.safety.atomic import guarded
    from pipeline.core.safety.export import write_csv
    from pipeline.survey.flow import verify_survey
    from pipeline.survey.questionnaire import load_questionnaire

    check, s = verify_survey(export, survey, out)
    folder = output_dir(out, load_questionnaire(survey).survey)
    target = folder / "published_check.csv"
    with guarded(folder):  # never written into a report folder another run is swapping
        folder.mkdir(parents=True, exist_ok=True)
        write_csv(check, target)
    typer.echo(
        f"published figures reproduced: {s['matched']} of {s['total']} ({s['share']:.1%}); see {target}"
    )
    unexplained = check.filter((check["status"] != "match") & (check["note"].fill_null("") == ""))
    if unexplained.height:
        typer.echo(
            f"{unexplained.height} published value(s) differ without a recorded reason", err=True
        )
        raise typer.Exit(1)


@app.command()
@handle_errors
def dictionary(
    survey: Survey = "interactions_2025",
    out: Annotated[Path, typer.Option("--out", "-o", help="markdown file to write")] = Path(
        "docs/questionnaire.md"
    ),
) -> None:
    """Write the data dictionary generated from the questionnaire spec.

    Example: joinedup survey dictionary --out docs/questionnaire.md
    """
    from pipeline.core.safety.atomic import atomic_write_text
    from pipeline.survey.dictionary import dictionary_markdown
    from pipeline.survey.questionnaire import load_questionnaire

    atomic_write_text(out, dictionary_markdown(load_questionnaire(survey)))
    typer.echo(f"wrote {out}")
