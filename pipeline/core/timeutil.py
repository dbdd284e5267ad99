"""Generation timestamps that make outputs reproducible.

Reproducible builds set ``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/);
when it is set every "generated at" stamp and file property uses it, so the same inputs give the
same bytes. Otherwise the current UTC time, truncated to whole seconds, is used.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from pipeline.core.errors import InputError

ENV_VAR = "SOURCE_DATE_EPOCH"


def generation_time() -> datetime:
    """The time outputs say they were generated: UTC, whole seconds, ``SOURCE_DATE_EPOCH`` first."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw:
        try:
            return datetime.fromtimestamp(int(raw), tz=UTC)
        except (ValueError, OverflowError, OSError) as err:
            raise InputError(
                f"{ENV_VAR} is not a whole number of seconds since 1970",
                fix=f"set {ENV_VAR} to an integer such as 1700000000, or unset it",
            ) from err
    return datetime.now(tz=UTC).replace(microsecond=0)


def generation_stamp() -> str:
    """``generation_time()`` as ISO 8601 with a ``Z`` suffix, e.g. ``2023-11-14T22:13:20Z``."""
    return generation_time().strftime("%Y-%m-%dT%H:%M:%SZ")


def wall_clock_stamp() -> str:
    """The real current UTC time (never ``SOURCE_DATE_EPOCH``): for locks and messages, not outputs."""
    return datetime.now(tz=UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
