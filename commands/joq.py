"""`joinedup joq ...`: the JOQ team's monthly workflow. Each command parses options, calls one
``pipeline.joq`` function, and prints a short summary."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from commands.common import handle_errors
from commands.survey import Profile, ProfileOption
from pipeline.core.errors import InputError
from pipeline.core.paths import DEFAULT_DB, DEFAULT_OUT

if TYPE_CHECKING:
    from pipeline.joq.flow import Session

app = typer.Typer(
    no_args_is_help=True,
    help="Just One Question: import, discover, code, review, "
    "measure and report a month's answers.\n\n"
    "Example: joinedup joq import export.csv --month 2025-01",
)

Month = Annotated[str, typer.Argument(help="Month as YYYY-MM, e.g. 2025-01.")]


class Device(StrEnum):
    """Where the embedding model runs (typer validates the choice)."""

    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


@dataclass(frozen=True)
class JoqOptions:
    """The options every JOQ command shares, declared once (``SHARED``) and handed to the command
    as one value; ``session()`` opens the store without building an embedder."""

    db: Path = DEFAULT_DB
    frames: Path | None = None
    taxonomy: Path | None = None
    out: Path = DEFAULT_OUT
    dry_run: bool = False
    device: Device = Device.cpu

    def session(self) -> Session:
        from pipeline.joq.flow import open_session

        return open_session(
            self.db,
            self.out,
            self.frames,
            dry_run=self.dry_run,
            device=self.device.value,
            taxonomy=self.taxonomy,
        )


def _option(name: str, annotation: object, default: object) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


SHARED = {
    "db": _option(
        "db",
        Annotated[Path, typer.Option("--db", help="DuckDB database holding every month.")],
        DEFAULT_DB,
    ),
    "out": _option(
        "out",
        Annotated[Path, typer.Option("--out", help="Output folder (reports/out by default).")],
        DEFAULT_OUT,
    ),
    "frames": _option(
        "frames",
        Annotated[
            Path | None,
            typer.Option(
                "--frames", help="Folder of <month>.yaml frames (coding_frames/joq by default)."
            ),
        ],
        None,
    ),
    "taxonomy": _option(
        "taxonomy",
        Annotated[
            Path | None,
            typer.Option(
                "--taxonomy",
                help="Cross-month taxonomy.yaml (default: taxonomy.yaml inside --frames; "
                "coding_frames/taxonomy.yaml for the project's own frames).",
            ),
        ],
        None,
    ),
    "dry_run": _option(
        "dry_run",
        Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="Use the hashing embedder (no model): "
                "fast, for trying the workflow, not for real coding.",
            ),
        ],
        False,
    ),
    "device": _option(
        "device",
        Annotated[
            Device,
            typer.Option(
                "--device", help="Where the embedding model runs (auto: cuda when available)."
            ),
        ],
        Device.cpu,
    ),
}
STORE = ("db", "frames", "taxonomy")
OUTPUTS = ("out",)
EMBEDS = ("dry_run", "device")


def joq_command(
    name: str | None = None, *, outputs: bool = True, embeds: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(..., opts: JoqOptions)`` as a JOQ command whose command line also takes the
    shared options (after the subcommand, as users type them: ``joq code 2025-01 --db X``):
    --db and --frames always, --out when it writes outputs, --dry-run and --device when it embeds.
    """
    shared = STORE + (OUTPUTS if outputs else ()) + (EMBEDS if embeds else ())

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        sig = inspect.signature(fn, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != "opts"]

        @functools.wraps(fn)
        def command(**kwargs: object) -> None:
            opts = JoqOptions(**{k: kwargs.pop(k) for k in shared})  # type: ignore[arg-type]
            fn(**kwargs, opts=opts)

        command.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[*own, *(SHARED[k] for k in shared)]
        )
        app.command(name)(handle_errors(command))
        return fn

    return register


def _column(role: str) -> object:
    return typer.Option(
        f"--{role}-column",
        help=f"Header (or 1-based column number, or 'none') of the {role} column.",
    )


@joq_command("import", outputs=False)
def import_(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX export of the month's answers.")],
    month: Annotated[str, typer.Option("--month", help="Month as YYYY-MM.")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace a month imported from a different file (human decisions are kept; "
            "those on a changed answer are flagged; the month must be coded again).",
        ),
    ] = False,
    answer_column: Annotated[str | None, _column("answer")] = None,
    id_column: Annotated[str | None, _column("id")] = None,
    submitted_column: Annotated[str | None, _column("submitted")] = None,
    sectors_column: Annotated[str | None, _column("sectors")] = None,
    role_column: Annotated[str | None, _column("role")] = None,
    region_column: Annotated[str | None, _column("region")] = None,
    consent_column: Annotated[str | None, _column("consent")] = None,
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", help="Saved column choices: a YAML file or a saved name."),
    ] = None,
    save_mapping: Annotated[
        str | None,
        typer.Option(
            "--save-mapping", help="Save the columns used as <frames>/mappings/NAME.yaml."
        ),
    ] = None,
    nonanswer: Annotated[
        list[str] | None,
        typer.Option(
            "--nonanswer",
            help="A reply to set aside as a non-answer this month (repeat the option); "
            "the frame's nonanswers.extra does the same for good.",
        ),
    ] = None,
    keep_answer: Annotated[
        list[str] | None,
        typer.Option(
            "--keep-answer",
            help="A listed reply that is an answer to this question, e.g. 'nothing' to "
            "'what could we improve?' (repeat); the frame's nonanswers.keep does it for good.",
        ),
    ] = None,
    *,
    opts: JoqOptions,
) -> None:
    """Import a month's export (SurveyMonkey, Qualtrics, CSV or XLSX); the same file again
    changes nothing (unless the non-answer list changed). Columns are found by their headers; when
    two could fit, say which. The replies set aside are listed in <out>/joq_<month>/nonanswers.csv.

    Example: joinedup joq import data/reference/joq/2025-01_export.csv --month 2025-01
    """
    from pipeline.joq.flow import run_import

    columns = {
        role: value
        for role, value in (
            ("answer", answer_column),
            ("id", id_column),
            ("submitted", submitted_column),
            ("sectors", sectors_column),
            ("role", role_column),
            ("region", region_column),
            ("consent", consent_column),
        )
        if value is not None
    }
    res = run_import(
        opts.session(),
        file,
        month,
        replace,
        columns,
        mapping,
        save_mapping,
        nonanswer or [],
        keep_answer or [],
    )
    typer.echo(res.summary())
    typer.echo(f"non-answers set aside: {res.n_rows - res.n_usable} (see nonanswers.csv)")


@joq_command(embeds=True)
def discover(
    month: Month,
    sample: Annotated[int, typer.Option("--sample", help="Answers in the discovery sample.")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="Sampling and clustering seed.")] = 20250131,
    stratify: Annotated[
        str | None,
        typer.Option("--stratify", help="'sector' for a proportional stratified sample."),
    ] = None,
    *,
    opts: JoqOptions,
) -> None:
    """Draw a sample, group it and write a draft frame and saturation curve to edit.

    Example: joinedup joq discover 2025-01 --sample 24 --seed 20250131
    """
    from pipeline.joq.flow import run_discover

    s = opts.session()
    d = run_discover(s, month, sample, seed, stratify)
    typer.echo(f"sample of {d.sample.height} (seed {seed}); {d.groups.height} groups")
    typer.echo(d.saturation.write_csv())
    typer.echo(f"draft frame: {s.month_dir(month) / 'draft_frame.yaml'}")


def _parse_thresholds(pairs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for p in pairs:
        key, _, value = p.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise InputError(
                f"threshold '{p}' is not name=number", fix="e.g. --threshold accept=0.45"
            ) from None
    return out


@joq_command(embeds=True)
def code(
    month: Month,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", help="Override one threshold, name=value (repeatable)."),
    ] = None,
    allow_draft: Annotated[
        bool, typer.Option("--allow-draft", help="Code with a frame still marked status: draft.")
    ] = False,
    *,
    opts: JoqOptions,
) -> None:
    """Apply the month's frame to every usable answer; human decisions win.

    Example: joinedup joq code 2025-01 --threshold accept=0.45
    """
    from pipeline.joq.flow import run_code

    s = opts.session()
    run = run_code(s, month, _parse_thresholds(threshold or []), allow_draft)
    n_other = run.machine.filter(run.machine["code_id"] == "other").height
    typer.echo(
        f"run {run.run_id}: {run.machine['response_id'].n_unique()} answers coded, "
        f"{n_other} to the other queue, {run.n_training} human-coded used for training"
        + (f" (+{run.n_history} from earlier months)" if run.n_history else "")
        + "; "
        f"embeddings computed {run.computed}, reused {run.reused}"
        + (
            "; nothing changed since the last run: its stored codes were reused"
            if run.cached
            else ""
        )
    )


@joq_command()
def review(
    month: Month,
    apply: Annotated[
        Path | None, typer.Option("--apply", help="Read back an edited review workbook.")
    ] = None,
    coder: Annotated[
        str | None,
        typer.Option("--coder", help="Who codes: the sheet is review_<coder>.xlsx."),
    ] = None,
    double_code: Annotated[
        int | None,
        typer.Option(
            "--double-code",
            help="Write a blind sheet of N answers another coder decided (for --coder).",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Double-coding sample seed (frame's by default).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a sheet even if it has unapplied edits.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Apply a stale sheet, overwriting later decisions."),
    ] = False,
    add_codes: Annotated[
        bool, typer.Option("--add-codes", help="Add codes typed in new_code to the frame.")
    ] = False,
    mark_reviewed: Annotated[
        bool,
        typer.Option(
            "--mark-reviewed", help="With --apply: the codebook is final; frame status: reviewed."
        ),
    ] = False,
    *,
    opts: JoqOptions,
) -> None:
    """Write the coder's review workbook (undecided answers first, drop-downs, codebook), or
    apply an edited one with --apply (refused if stale; re-applying stores nothing twice).

    Example: joinedup joq review 2025-01 --coder AB, then joinedup joq review 2025-01 --apply
    reports/out/joq_2025-01/review_AB.xlsx --coder AB
    """
    from pipeline.joq.flow import run_review_apply, run_review_write

    s = opts.session()
    if apply is None:
        path = run_review_write(s, month, coder, double_code, seed, overwrite)
        typer.echo(f"wrote {path}")
        return
    res = run_review_apply(s, month, apply, coder, force, add_codes, mark_reviewed)
    for line in res.frame_changes:
        typer.echo(f"frame: {line}")
    if res.forced:
        typer.echo(f"--force: overwrote later decisions on {', '.join(res.forced)}")
    typer.echo(
        f"stored {res.stored} decisions from sheet {res.sheet_id}; re-run "
        f"`joinedup joq code {month}` to retrain"
    )


@joq_command()
def agreement(
    month: Month,
    gold: Annotated[
        Path | None, typer.Option("--gold", help="CSV response_id,code_id (long).")
    ] = None,
    between: Annotated[
        tuple[str, str] | None,
        typer.Option("--between", help="Two coders, e.g. --between AB CD: kappa per code."),
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option("--split", help="CSV response_id,split; only 'eval' answers are measured."),
    ] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 20250131,
    *,
    opts: JoqOptions,
) -> None:
    """Machine codes against a human-coded set (eval answers only), with bootstrap CIs; or
    two coders against each other (--between), with a sheet of their disagreements to resolve.

    Example: joinedup joq agreement 2025-01 --gold data/reference/joq/2025-01_gold.csv
    --split data/reference/joq/2025-01_split.csv
    """
    from pipeline.joq.agreement import summary
    from pipeline.joq.flow import run_agreement, run_between
    from pipeline.joq.reference import agreement_line

    s = opts.session()
    if between:
        table, csv_path, xlsx = run_between(s, month, *between)
        typer.echo(table.write_csv(float_precision=3))
        typer.echo(
            f"wrote {csv_path} and {xlsx} (resolve it: joinedup joq review {month} "
            f"--apply {xlsx} --coder YOUR_INITIALS)"
        )
        return
    if gold is None:
        raise InputError("give --gold FILE or --between CODER CODER", fix="see --help")
    table = run_agreement(s, month, gold, split, resamples, seed)
    typer.echo(
        table.select("code", "n_gold", "n_machine", "precision", "recall", "f1", "kappa").write_csv(
            float_precision=3
        )
    )
    typer.echo(agreement_line(month, summary(table)))


@joq_command(embeds=True)
def report(
    month: Month,
    names: Annotated[
        Path | None,
        typer.Option("--names", help="File of names to redact from quotes, one per line."),
    ] = None,
    profile: ProfileOption = Profile.analysis,
    *,
    opts: JoqOptions,
) -> None:
    """Write the month report (HTML, Markdown, tidy tables).

    Example: joinedup joq report 2025-01 --profile publication
    """
    from pipeline.joq.publish import write_month_report

    deny = names.read_text(encoding="utf-8").splitlines() if names else []
    s = opts.session()
    path = write_month_report(s, month, [n for n in deny if n.strip()], profile.value)
    typer.echo(f"wrote {path}")


@joq_command()
def trends(*, opts: JoqOptions) -> None:
    """Chart taxonomy themes across every coded month in the database.

    Example: joinedup joq trends --db data/joinedup.duckdb
    """
    from pipeline.joq.publish import write_trends

    typer.echo(f"wrote {write_trends(opts.session())}")


@joq_command(embeds=True)
def tune(
    month: Month,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 6,
    *,
    opts: JoqOptions,
) -> None:
    """Cross-validate thresholds on the month's human-coded answers only; prints the best.

    Example: joinedup joq tune 2025-01 --folds 6
    """
    from pipeline.joq.flow import cross_validate_month

    table = cross_validate_month(opts.session(), month, folds)
    typer.echo(table.head(10).write_csv(float_precision=4))


@app.command()
@handle_errors
def reference(
    out: Annotated[
        Path, typer.Option("--out", help="Output folder (reports/out by default).")
    ] = DEFAULT_OUT,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Database for the run (default OUT/joq_reference.duckdb)."),
    ] = None,
) -> None:
    """Run every synthetic reference month end to end (import, gold training split, code,
    agreement on eval, report) and the trends page, in a separate database.

    Example: joinedup joq reference --out reports/out
    """
    from pipeline.joq.reference import agreement_line, run_reference

    t0 = time.perf_counter()
    results, trends_path, counts = run_reference(out, db)
    for r in results:
        typer.echo(f"{r.imported}; trained on {r.n_training}; report {r.report} ({r.seconds:.1f}s)")
        if r.agreement:
            typer.echo("  " + agreement_line(r.month, r.agreement))
    typer.echo(
        f"trends {trends_path}; embeddings computed {counts['computed']}, "
        f"reused {counts['reused']}; {time.perf_counter() - t0:.1f}s"
    )


@joq_command("export")
def export(
    month: Month,
    qdpx: Annotated[
        Path | None, typer.Option("--qdpx", help="Write a REFI-QDA project (.qdpx).")
    ] = None,
    qdc: Annotated[
        Path | None, typer.Option("--qdc", help="Write the frame as a REFI-QDA codebook (.qdc).")
    ] = None,
    names: Annotated[
        Path | None,
        typer.Option("--names", help="File of names to redact from answers, one per line."),
    ] = None,
    *,
    opts: JoqOptions,
) -> None:
    """Export the month for NVivo, MAXQDA, ATLAS.ti or QualCoder (REFI-QDA .qdpx / .qdc).

    Example: joinedup joq export 2025-01 --qdpx 2025-01.qdpx --qdc 2025-01.qdc
    """
    from pipeline.joq.exchange import export_month

    deny = [n for n in names.read_text(encoding="utf-8").splitlines() if n.strip()] if names else []
    s = opts.session()
    typer.echo(export_month(s, month, qdpx, qdc, deny).summary())


@joq_command("import-qdpx")
def import_qdpx(
    month: Month,
    file: Annotated[Path, typer.Argument(help="A .qdpx project coded in another QDA program.")],
    coder: Annotated[
        str | None,
        typer.Option("--coder", help="Who coded, for codings that name no user in the file."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Let the file win over decisions made since export.")
    ] = False,
    ignore_unknown: Annotated[
        bool,
        typer.Option("--ignore-unknown", help="Store the rest when the file uses unknown codes."),
    ] = False,
    *,
    opts: JoqOptions,
) -> None:
    """Bring coding done in another QDA program back as human decisions (one per person).

    Example: joinedup joq import-qdpx 2025-01 coded-in-nvivo.qdpx
    """
    from pipeline.joq.exchange import import_qdpx as run

    s = opts.session()
    res = run(s, month, file, coder, force, ignore_unknown)
    typer.echo(res.summary())
    if sum(res.stored.values()):
        typer.echo(f"re-run `joinedup joq code {month}` to retrain on the new decisions")


@joq_command("frame-from-qdc", outputs=False)
def frame_from_qdc(
    file: Annotated[Path, typer.Argument(help="A .qdc codebook (or .qdpx project).")],
    month: Annotated[str, typer.Option("--month", help="Month of the new frame, YYYY-MM.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing frame.")] = False,
    *,
    opts: JoqOptions,
) -> None:
    """Seed a month's draft coding frame from another program's codebook.

    Example: joinedup joq frame-from-qdc team-codebook.qdc --month 2025-02
    """
    from pipeline.joq.exchange import frame_from_qdc as run

    s = opts.session()
    path, notes = run(s, file, month, force)
    for n in notes:
        typer.echo(f"note: {n}")
    typer.echo(f"wrote draft frame {path}; review it, then set status: reviewed")
