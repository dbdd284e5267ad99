"""`joinedup joq ...`: the JOQ team's monthly workflow. Each command parses options, calls one
``pipeline.joq`` function, and prints a short summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from commands.common import handle_errors
from pipeline.core.errors import InputError
from pipeline.core.paths import DEFAULT_DB, DEFAULT_OUT

app = typer.Typer(
    no_args_is_help=True,
    help="Just One Question: import, discover, code, review, "
    "measure and report a month's answers.\n\n"
    "Example: joinedup joq import export.csv --month 2025-01",
)

Month = Annotated[str, typer.Argument(help="Month as YYYY-MM, e.g. 2025-01.")]
Db = Annotated[Path, typer.Option("--db", help="DuckDB database holding every month.")]
Out = Annotated[Path, typer.Option("--out", help="Output folder (reports/out by default).")]
Frames = Annotated[
    Path | None,
    typer.Option("--frames", help="Folder of <month>.yaml frames (coding_frames/joq by default)."),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Use the hashing embedder (no model): "
        "fast, for trying the workflow, not for real coding.",
    ),
]

Device = Annotated[
    str,
    typer.Option(
        "--device",
        help="Where the embedding model runs: cpu, cuda or auto (cuda when available).",
    ),
]


def _session(
    db: Path,
    out: Path = DEFAULT_OUT,
    frames: Path | None = None,
    dry_run: bool = False,
    device: str = "cpu",
):
    from pipeline.joq.flow import open_session

    if device not in ("cpu", "cuda", "auto"):
        raise InputError(f"unknown device '{device}'", fix="use --device cpu, cuda or auto")
    return open_session(db, out, frames, dry_run=dry_run, device=device)  # type: ignore[arg-type]


@app.command("import")
@handle_errors
def import_(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX export of the month's answers.")],
    month: Annotated[str, typer.Option("--month", help="Month as YYYY-MM.")],
    db: Db = DEFAULT_DB,
    frames: Frames = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace a month imported from a different file (human decisions are kept).",
        ),
    ] = False,
) -> None:
    """Import a month's export; the same file again changes nothing.

    Example: joinedup joq import data/reference/joq/2025-01_export.csv --month 2025-01
    """
    from pipeline.joq.flow import run_import

    s = _session(db, frames=frames, dry_run=True)
    res = run_import(s, file, month, replace)
    typer.echo(res.summary())


@app.command()
@handle_errors
def discover(
    month: Month,
    sample: Annotated[int, typer.Option("--sample", help="Answers in the discovery sample.")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="Sampling and clustering seed.")] = 20250131,
    stratify: Annotated[
        str | None,
        typer.Option("--stratify", help="'sector' for a proportional stratified sample."),
    ] = None,
    db: Db = DEFAULT_DB,
    out: Out = DEFAULT_OUT,
    frames: Frames = None,
    dry_run: DryRun = False,
    device: Device = "cpu",
) -> None:
    """Draw a sample, group it and write a draft frame and saturation curve to edit.

    Example: joinedup joq discover 2025-01 --sample 24 --seed 20250131
    """
    from pipeline.joq.flow import run_discover

    s = _session(db, out, frames, dry_run, device)
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


@app.command()
@handle_errors
def code(
    month: Month,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", help="Override one threshold, name=value (repeatable)."),
    ] = None,
    db: Db = DEFAULT_DB,
    out: Out = DEFAULT_OUT,
    frames: Frames = None,
    dry_run: DryRun = False,
    device: Device = "cpu",
) -> None:
    """Apply the month's frame to every usable answer; human decisions win.

    Example: joinedup joq code 2025-01 --threshold accept=0.45
    """
    from pipeline.joq.flow import run_code

    s = _session(db, out, frames, dry_run, device)
    run = run_code(s, month, _parse_thresholds(threshold or []))
    n_other = run.machine.filter(run.machine["code_id"] == "other").height
    typer.echo(
        f"run {run.run_id}: {run.machine['response_id'].n_unique()} answers coded, "
        f"{n_other} to the other queue, {run.n_training} human-coded used for training; "
        f"embeddings computed {run.computed}, reused {run.reused}"
    )


@app.command()
@handle_errors
def review(
    month: Month,
    apply: Annotated[
        Path | None, typer.Option("--apply", help="Read back an edited review.xlsx.")
    ] = None,
    coder: Annotated[
        str | None, typer.Option("--coder", help="Who reviewed (with --apply).")
    ] = None,
    db: Db = DEFAULT_DB,
    out: Out = DEFAULT_OUT,
    frames: Frames = None,
) -> None:
    """Write review.xlsx (least certain first), or apply an edited one with --apply.

    Example: joinedup joq review 2025-01 --apply reports/out/joq_2025-01/review.xlsx --coder AB
    """
    from pipeline.joq.flow import run_review_apply, run_review_write

    s = _session(db, out, frames, dry_run=True)
    if apply is None:
        typer.echo(f"wrote {run_review_write(s, month)}")
        return
    if not coder:
        raise InputError("--coder is required with --apply", fix="add --coder YOUR_INITIALS")
    n = run_review_apply(s, month, apply, coder)
    typer.echo(f"stored {n} decisions by {coder}; re-run `joinedup joq code {month}` to retrain")


@app.command()
@handle_errors
def agreement(
    month: Month,
    gold: Annotated[Path, typer.Option("--gold", help="CSV response_id,code_id (long).")],
    split: Annotated[
        Path | None,
        typer.Option("--split", help="CSV response_id,split; only 'eval' answers are measured."),
    ] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 20250131,
    db: Db = DEFAULT_DB,
    out: Out = DEFAULT_OUT,
    frames: Frames = None,
) -> None:
    """Machine codes against a human-coded set (eval answers only), with bootstrap CIs.

    Example: joinedup joq agreement 2025-01 --gold data/reference/joq/2025-01_gold.csv
    --split data/reference/joq/2025-01_split.csv
    """
    from pipeline.joq.agreement import summary
    from pipeline.joq.flow import run_agreement
    from pipeline.joq.reference import agreement_line

    s = _session(db, out, frames, dry_run=True)
    table = run_agreement(s, month, gold, split, resamples, seed)
    typer.echo(
        table.select("code", "n_gold", "n_machine", "precision", "recall", "f1", "kappa").write_csv(
            float_precision=3
        )
    )
    typer.echo(agreement_line(month, summary(table)))


@app.command()
@handle_errors
def report(
    month: Month,
    names: Annotated[
        Path | None,
        typer.Option("--names", help="File of names to redact from quotes, one per line."),
    ] = None,
    db: Db = DEFAULT_DB,
    out: Out = DEFAULT_OUT,
    frames: Frames = None,
    dry_run: DryRun = False,
    device: Device = "cpu",
) -> None:
    """Write the month report (HTML, Markdown, tidy tables).

    Example: joinedup joq report 2025-01
    """
    from pipeline.joq.publish import write_month_report

    deny = names.read_text(encoding="utf-8").splitlines() if names else []
    s = _session(db, out, frames, dry_run, device)
    typer.echo(f"wrote {write_month_report(s, month, [n for n in deny if n.strip()])}")


@app.command()
@handle_errors
def trends(db: Db = DEFAULT_DB, out: Out = DEFAULT_OUT, frames: Frames = None) -> None:
    """Chart taxonomy themes across every coded month in the database.

    Example: joinedup joq trends --db data/joinedup.duckdb
    """
    from pipeline.joq.publish import write_trends

    typer.echo(f"wrote {write_trends(_session(db, out, frames, dry_run=True))}")


@app.command()
@handle_errors
def tune(
    month: Month,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 6,
    db: Db = DEFAULT_DB,
    out: Out = DEFAULT_OUT,
    frames: Frames = None,
) -> None:
    """Cross-validate thresholds on the month's human-coded answers only; prints the best.

    Example: joinedup joq tune 2025-01 --folds 6
    """
    from pipeline.joq.flow import cross_validate_month

    table = cross_validate_month(_session(db, out, frames), month, folds)
    typer.echo(table.head(10).write_csv(float_precision=4))


@app.command()
@handle_errors
def reference(
    out: Out = DEFAULT_OUT,
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


@app.command("export")
@handle_errors
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
    db: Db = DEFAULT_DB,
    out: Out = DEFAULT_OUT,
    frames: Frames = None,
) -> None:
    """Export the month for NVivo, MAXQDA, ATLAS.ti or QualCoder (REFI-QDA .qdpx / .qdc).

    Example: joinedup joq export 2025-01 --qdpx 2025-01.qdpx --qdc 2025-01.qdc
    """
    from pipeline.joq.exchange import export_month

    deny = [n for n in names.read_text(encoding="utf-8").splitlines() if n.strip()] if names else []
    s = _session(db, out, frames, dry_run=True)
    typer.echo(export_month(s, month, qdpx, qdc, deny).summary())


@app.command("import-qdpx")
@handle_errors
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
    db: Db = DEFAULT_DB,
    out: Out = DEFAULT_OUT,
    frames: Frames = None,
) -> None:
    """Bring coding done in another QDA program back as human decisions (one per person).

    Example: joinedup joq import-qdpx 2025-01 coded-in-nvivo.qdpx
    """
    from pipeline.joq.exchange import import_qdpx as run

    s = _session(db, out, frames, dry_run=True)
    typer.echo(run(s, month, file, coder, force, ignore_unknown).summary())
    typer.echo(f"re-run `joinedup joq code {month}` to retrain on the new decisions")


@app.command("frame-from-qdc")
@handle_errors
def frame_from_qdc(
    file: Annotated[Path, typer.Argument(help="A .qdc codebook (or .qdpx project).")],
    month: Annotated[str, typer.Option("--month", help="Month of the new frame, YYYY-MM.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing frame.")] = False,
    db: Db = DEFAULT_DB,
    frames: Frames = None,
) -> None:
    """Seed a month's draft coding frame from another program's codebook.

    Example: joinedup joq frame-from-qdc team-codebook.qdc --month 2025-02
    """
    from pipeline.joq.exchange import frame_from_qdc as run

    s = _session(db, frames=frames, dry_run=True)
    path, notes = run(s, file, month, force)
    for n in notes:
        typer.echo(f"note: {n}")
    typer.echo(f"wrote draft frame {path}; review it, then set status: reviewed")
