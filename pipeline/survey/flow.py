"""Wire the survey stages together and write one report directory atomically.

ingest -> validate(mapped) -> clean -> validate(clean) -> route -> validate(loops) -> tables ->
verify -> report. Every output lands in ``<out>/<survey>/`` only when the whole run succeeded;
a failure leaves the previous report directory exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.core.errors import SpecError, ValidationFailed
from pipeline.core.manifest import build_manifest, input_hashes, is_synthetic
from pipeline.core.paths import output_dir, user_cache_dir
from pipeline.core.safety.atomic import atomic_write_text, staged_dir
from pipeline.core.safety.pseudonym import key_fingerprint, load_key
from pipeline.survey.clean import WORKING, Cleaned, clean, load_recodes, write_ledger_outputs
from pipeline.survey.ingest import Ingested, read_export
from pipeline.survey.published import Published, PublishedModel, load_published
from pipeline.survey.questionnaire import Option, Questionnaire, load_questionnaire
from pipeline.survey.route import SurveyData, route
from pipeline.survey.validate import (
    ValidationReport,
    clean_schema,
    loop_schema,
    mapped_schema,
    validate,
)


@dataclass(frozen=True)
class Prepared:
    """Everything up to routing: what ``survey run`` and ``survey verify`` share."""

    spec: Questionnaire
    ingested: Ingested
    cleaned: Cleaned
    data: SurveyData
    validation: list[ValidationReport]
    key_fingerprint: str = ""


def embedding_suggester(model: str | None = None, cache: Path | None = None):
    """Suggest a category for each "Other" text by cosine similarity to the option labels.

    Vectors go through the DuckDB embedding cache (``survey_embeddings.duckdb`` in
    ``user_cache_dir()``), so the model is loaded only when some text or label has never been
    embedded with these weights; a cache another run holds open is skipped, never waited for.
    """

    def suggest(texts: Sequence[str], options: Sequence[Option]) -> list[tuple[str, float]]:
        import duckdb

        from pipeline.core.embed import EmbeddingCache, SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder(model)
        path = cache or user_cache_dir() / "survey_embeddings.duckdb"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(path))
        except (OSError, duckdb.Error):
            con = duckdb.connect()  # unwritable or busy cache: embed in memory this time
        try:
            vecs = EmbeddingCache(con).embed(
                [t or "" for t in texts] + [o.label for o in options], embedder
            )
        finally:
            con.close()
        sims = vecs[: len(texts)] @ vecs[len(texts) :].T
        best = np.argmax(sims, axis=1)
        return [(options[j].code, float(sims[i, j])) for i, j in enumerate(best)]

    return suggest


def refuse_unreviewed(p: Prepared) -> None:
    """``--strict``: any "Other" text not in the reviewed recode table stops the run."""
    from pipeline.survey.clean import unreviewed

    todo = unreviewed(p.cleaned.other_review)
    if todo.height:
        rule = p.spec.model.cleaning.other_recode
        table = p.spec.directory / (rule.table if rule else "recodes.yaml")
        raise ValidationFailed(
            f"{todo['answers'].sum()} 'Other' answer(s) ({todo.height} distinct text(s)) are not "
            "in the reviewed recode table (--strict)",
            file=table,
            fix=f"run 'joinedup survey others {p.ingested.path} --survey {p.spec.survey}' to list "
            f"them with suggestions, add reviewed entries to {table}, and run again",
        )


def prepare(
    export: Path,
    survey: str | Path,
    *,
    suggest: bool = True,
    model: str | None = None,
    sheet: str | None = None,
    key: bytes | None = None,
) -> Prepared:
    spec = load_questionnaire(survey)
    key = key if key is not None else load_key()
    ingested = read_export(export, spec, key=key, sheet=sheet)
    reports = [validate(ingested.frame, mapped_schema(spec), "mapped", spec, str(export))]
    rule = spec.model.cleaning.other_recode
    suggester = (
        embedding_suggester(model) if suggest and rule and rule.suggest_with_embeddings else None
    )
    cleaned = clean(ingested.frame, spec, load_recodes(spec), suggester)
    reports.append(validate(cleaned.usable, clean_schema(spec), "clean", spec, str(export)))
    data = route(cleaned.usable, spec)
    for loop, frame in data.loops.items():
        reports.append(
            validate(frame, loop_schema(spec, loop, []), f"loop {loop}", spec, str(export))
        )
    return Prepared(spec, ingested, cleaned, data, reports, key_fingerprint(key))


def decisive_inputs(spec: Questionnaire) -> dict[str, Path | None]:
    """Every file besides the export that decides a published figure or quote, by role."""
    from pipeline.core.paths import TEMPLATES
    from pipeline.survey.report.quotes import EXCLUSIONS_FILE
    from pipeline.survey.tables.postcodes import LOOKUP_PATH

    rule = spec.model.cleaning.other_recode
    return {
        "questionnaire": spec.path,
        "recodes": spec.directory / rule.table if rule else None,
        "tables": spec.directory / "tables.yaml",
        "published": spec.directory / "published.yaml",
        "quote_exclusions": spec.directory / EXCLUSIONS_FILE,
        "postcode_areas": LOOKUP_PATH,
        "templates": TEMPLATES,
    }


def refuse_draft(spec: Questionnaire, allow_draft: bool) -> None:
    """A spec nobody has reviewed is not run by accident."""
    if spec.model.status == "draft" and not allow_draft:
        raise SpecError(
            "this questionnaire spec is a draft written by `survey init` and not yet reviewed",
            file=spec.path,
            fix="review every `inferred:` line, set `status: reviewed`, and run again; or run "
            "with --allow-draft to get a report marked DRAFT",
        )


def load_published_or_none(spec: Questionnaire) -> Published:
    """The survey's published figures; a survey with none has nothing to check."""
    path = spec.directory / "published.yaml"
    if path.exists():
        return load_published(path)
    return Published(PublishedModel(survey=spec.survey, source="none", figures=()), path)


def quote_questions(spec: Questionnaire) -> tuple[str, ...]:
    """The survey's declared quote questions; for any other survey, its open-text questions."""
    from pipeline.survey.report.quotes import QUOTE_QUESTIONS

    ids = {q.id for q in spec.model.questions}
    if all(q in ids for q in QUOTE_QUESTIONS):
        return tuple(QUOTE_QUESTIONS)
    return tuple(q.id for q in spec.model.questions if q.type == "text")


def manifest_for(p: Prepared, profile: str) -> dict[str, object]:
    ing = p.ingested
    return build_manifest(
        survey=p.spec.survey,
        spec_version=p.spec.version,
        spec_sha256=p.spec.sha256,
        spec_status=p.spec.model.status,
        input={
            "path": ing.path.name,
            "sha256": ing.sha256,
            "encoding": ing.encoding,
            "layout": ing.layout,
            "rows": ing.raw_rows,
            "header_rows": ing.header_rows,
            "blank_rows_skipped": ing.blank_rows,
            "identifying_columns_dropped": len(ing.dropped_columns),
            "notes": ing.notes,
        },
        synthetic=is_synthetic(ing.sha256, ing.path),
        inputs=input_hashes(decisive_inputs(p.spec)),
        key_fingerprint=p.key_fingerprint,
        profile=profile,
        seeds={},
        model={"other_suggestions": "all-MiniLM-L6-v2 (bundled)"},
    )


def write_core(out: Path, p: Prepared, manifest: dict[str, object]) -> None:
    """Funnel, ledger, "Other" review list, validation report and manifest."""
    write_ledger_outputs(p.cleaned, out)
    atomic_write_text(out / "validation.txt", "\n".join(r.text() for r in p.validation) + "\n")
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def run_survey(
    export: Path,
    survey: str | Path = "interactions_2025",
    out_root: Path = Path("reports/out"),
    *,
    profile: str = "analysis",
    suggest: bool = True,
    model: str | None = None,
    sheet: str | None = None,
    allow_draft: bool = False,
    check_published: bool = False,
    strict: bool = False,
    on_prepared: Callable[[Prepared], None] | None = None,
    fresh: bool = False,
    on_reused: Callable[[Path], None] | None = None,
) -> Path:
    """The whole survey pipeline; returns the report directory.

    When the report directory was written by a run with exactly these inputs, code, packages
    and options and is intact (``pipeline.survey.rerun``), nothing is recomputed: ``on_reused``
    is told and the directory returned as it is, unless ``fresh``.

    ``on_prepared`` sees the cleaned data before anything is written (the CLI keeps it for its
    summary of unreviewed "Other" answers, so the summary never depends on where files go).

    A draft spec (``status: draft``, written by ``survey init``) is refused unless
    ``allow_draft``; when allowed, the report and manifest say the spec is unreviewed.
    ``check_published`` compares the tables with the published figures (only meaningful for
    the export they were computed from) and adds a short appendix; ``strict`` refuses
    unreviewed "Other" texts before anything is written.
    """
    from pipeline.survey import rerun

    spec = load_questionnaire(survey)
    refuse_draft(spec, allow_draft)
    options = {
        "profile": profile,
        "suggest": suggest,
        "model": model,
        "sheet": sheet,
        "allow_draft": allow_draft,
        "check_published": check_published,
        "strict": strict,
    }
    key = rerun.run_key(Path(export), decisive_inputs(spec), options, key_fingerprint(load_key()))
    previous = output_dir(Path(out_root), spec.survey)
    if not fresh and rerun.unchanged(previous, WORKING, key):
        # a strict run with this key succeeded, so no "Other" text was unreviewed then either
        if on_reused is not None:
            on_reused(previous)
        return previous
    p = prepare(export, survey, suggest=suggest, model=model, sheet=sheet)
    if strict:
        refuse_unreviewed(p)
    if on_prepared is not None:
        on_prepared(p)
    manifest = manifest_for(p, profile)
    final = output_dir(Path(out_root), p.spec.survey)
    final.parent.mkdir(parents=True, exist_ok=True)
    with staged_dir(final) as out:
        write_core(out, p, manifest)
        _tables_and_report(out, p, manifest, profile, check_published)
        rerun.write_record(out, WORKING, key)
    return final


def _tables_and_report(
    out: Path, p: Prepared, manifest: dict[str, object], profile: str, with_check: bool
) -> None:
    from pipeline.survey.report.quotes import DEFAULT_SEED, load_exclusions, select_quotes
    from pipeline.survey.report.render import write_survey_report
    from pipeline.survey.tables.definitions import load_tables
    from pipeline.survey.tables.engine import compute_tables
    from pipeline.survey.verify import check_published

    tables_spec = load_tables(p.spec.directory / "tables.yaml", p.spec)
    tables = compute_tables(p.data, tables_spec)
    check = (
        check_published(
            tables, load_published_or_none(p.spec), tables_spec=tables_spec, funnel=p.cleaned.funnel
        )
        if with_check
        else None
    )
    # The deny-list (the export's name columns) is passed in memory only, never written.
    quotes = select_quotes(
        p.data,
        names=p.ingested.names,
        exclusions=load_exclusions(p.spec, key_fingerprint=p.key_fingerprint or None),
        seed=DEFAULT_SEED,
        questions=quote_questions(p.spec),
    )
    from pipeline.core.safety.export import write_csv
    from pipeline.survey.report.open_text import open_text_answers

    write_csv(
        open_text_answers(p.data.responses, p.spec, names=p.ingested.names),
        out / WORKING / "open_text.csv",  # row level: for the coder, not for publication
    )
    seeds = manifest.get("seeds")
    manifest["seeds"] = {**(seeds if isinstance(seeds, dict) else {}), "quotes": DEFAULT_SEED}
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    write_survey_report(
        out,
        data=p.data,
        tables=tables,
        check=check,
        funnel=p.cleaned.funnel,
        ledger=p.cleaned.ledger,
        manifest=manifest,
        spec=p.spec,
        tables_spec=tables_spec,
        profile=profile,
        synthetic=bool(manifest["synthetic"]),
        quotes=[q.as_dict() for q in quotes],
        others=p.cleaned.other_review,
        names=p.ingested.names,
    )


def verify_survey(
    export: Path, survey: str | Path, out_root: Path
) -> tuple[pl.DataFrame, dict[str, object]]:
    """Regenerate the tables and compare them with the published figures."""
    from pipeline.survey.tables.definitions import load_tables
    from pipeline.survey.tables.engine import compute_tables
    from pipeline.survey.verify import check_published, summary

    p = prepare(export, survey, suggest=False)
    tables_spec = load_tables(p.spec.directory / "tables.yaml", p.spec)
    tables = compute_tables(p.data, tables_spec)
    check = check_published(
        tables, load_published_or_none(p.spec), tables_spec=tables_spec, funnel=p.cleaned.funnel
    )
    return check, summary(check)
