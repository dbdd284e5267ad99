"""Shared CLI plumbing: error handling and options defined once.

Every failure a user can meet ends as one message on stderr and an exit code, never a traceback:
our own ``JoinedupError`` (exit 2), the operating system refusing a write (read-only folder,
permission, disk full: exit 2, naming the path), and Ctrl-C (exit 130). Outputs are written
atomically (``pipeline.core.safety.atomic``), so an interrupted or failed step leaves every output
as it was.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from pipeline.core.errors import JoinedupError

F = TypeVar("F", bound=Callable[..., Any])
INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

OS_FIXES = {
    errno.ENOSPC: ("the disk is full", "free some space (or write to another --out) and run again"),
    errno.EDQUOT: ("the disk quota is used up", "free some space and run again"),
    errno.EROFS: ("the folder is on a read-only file system", "choose a writable --out or --db"),
    errno.EACCES: ("permission denied", "choose a folder you can write to, or fix its permissions"),
    errno.EPERM: ("operation not permitted", "choose a folder you can write to"),
}


def is_interrupt(err: BaseException) -> bool:
    """Ctrl-C, however it arrives: Python's KeyboardInterrupt, or DuckDB cancelling its query."""
    if isinstance(err, KeyboardInterrupt):
        return True
    name = type(err).__name__
    return name == "InterruptException" or (
        isinstance(err, RuntimeError) and "query interrupted" in str(err).lower()
    )


def is_database_error(err: BaseException) -> bool:
    """A DuckDB error (checked by module, so the CLI does not import duckdb to start)."""
    return type(err).__module__.lstrip("_") == "duckdb"


def os_error_message(err: OSError) -> str:
    """'cannot write reports/out/x.csv: the disk is full. Fix: ...' (no traceback, no errno)."""
    what, fix = OS_FIXES.get(err.errno or 0, (err.strerror or type(err).__name__, "check the path"))
    where = f" {err.filename}" if err.filename else ""
    return f"cannot read or write{where}: {what}. Fix: {fix}"


def handle_errors(fn: F) -> F:
    """Turn every user-facing failure into its message on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JoinedupError as err:
            typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
            raise typer.Exit(err.exit_code) from None
        except OSError as err:
            typer.secho(f"error: {os_error_message(err)}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None
        except (KeyboardInterrupt, Exception) as err:
            if is_database_error(err) and not is_interrupt(err):
                from pipeline.joq.store import database_error

                typer.secho(f"error: {database_error(err)}", err=True, fg=typer.colors.RED)
                raise typer.Exit(2) from None
            if not is_interrupt(err):
                raise
            typer.secho(
                "interrupted; nothing was written by the step that was running "
                "(outputs are replaced atomically). Fix: run the command again",
                err=True,
                fg=typer.colors.RED,
            )
            raise typer.Exit(INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]
