"""joinedup command line: a thin shell over ``pipeline``. Each command parses options, calls one
library function, and turns a ``JoinedupError`` into a clean message and exit code 2."""

from __future__ import annotations

import typer

from commands import joq, survey

app = typer.Typer(
    name="joinedup",
    no_args_is_help=True,
    add_completion=False,
    help="Survey exports to published statistics; Just One Question answers to coded themes.\n\n"
    "Example: joinedup survey run data/reference/interactions_2025_export.csv",
)
app.add_typer(survey.app, name="survey")
app.add_typer(joq.app, name="joq")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
