"""Ingest: an export file in, one row per raw response out, with identifying data removed.

``read_export`` is the only entry point. It decodes and parses the file (``grid``), detects the
layout (``layout``), maps columns and values to the questionnaire spec (``mapping``), drops
identifying columns before any respondent value is read, and replaces respondent ids with keyed
pseudonyms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.core.errors import InputError
from pipeline.core.hashing import file_sha256
from pipeline.core.reader.grid import read_grid
from pipeline.core.reader.layout import Layout, detect_layout, headers
from pipeline.core.safety.pseudonym import load_key, pseudonymise
from pipeline.survey.ingest.mapping import Mapping, map_columns, to_frame
from pipeline.survey.questionnaire import Questionnaire


@dataclass(frozen=True)
class Ingested:
    """A mapped export. ``names`` is the redaction deny-list: in memory only, never written."""

    frame: pl.DataFrame
    path: Path
    sha256: str
    encoding: str
    layout: Layout
    header_rows: int
    dropped_columns: list[str]
    blank_rows: list[int]
    notes: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list, repr=False)

    @property
    def raw_rows(self) -> int:
        return self.frame.height


def read_export(
    path: Path, spec: Questionnaire, *, key: bytes | None = None, sheet: str | None = None
) -> Ingested:
    path = Path(path)
    grid = read_grid(path, sheet)
    layout, header_rows = detect_layout(grid)
    if grid.height <= header_rows:
        raise InputError(
            f"the file has header row(s) but no responses ({layout} layout)",
            file=path,
            fix="export again after responses have been collected, or check the filter used",
        )
    mapping = map_columns(grid, headers(grid, layout), layout, spec)
    frame, names = to_frame(grid, header_rows, mapping, spec)
    notes = _collection_notes(frame, mapping)
    frame = frame.drop("_response_type", strict=False)
    if "_respondent_id" not in frame.columns:
        notes.append("no respondent id column: the row number stands in for it")
        frame = frame.with_columns(pl.col("_row").cast(pl.String).alias("_respondent_id"))
    frame = frame.with_columns(
        pseudonymise(frame["_respondent_id"], key if key is not None else load_key()).alias(
            "_respondent"
        )
    ).drop("_respondent_id")
    for meta in ("_collector_id", "_started", "_ended"):
        if meta not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(meta))
    frame = frame.rename({"_collector_id": "_collector"})
    front = ["_row", "_respondent", "_collector", "_started", "_ended"]
    frame = frame.select(front + [c for c in frame.columns if c not in front])
    return Ingested(
        frame=frame,
        path=path,
        sha256=grid.sha256 or file_sha256(path),  # the byte scan hashes a CSV on its way
        encoding=grid.encoding,
        layout=layout,
        header_rows=header_rows,
        dropped_columns=mapping.dropped,
        blank_rows=grid.blank_rows,
        notes=notes,
        names=names,
    )


# Qualtrics "Response Type" values of real responses; anything else (Survey Preview, Survey Test,
# Spam, Imported) is named in a note so nobody publishes a preview by accident.
REAL_RESPONSE_TYPES = {"ip address", "anonymous", "0", "email", "ip"}


def _collection_notes(frame: pl.DataFrame, mapping: Mapping) -> list[str]:
    """What ingest left out or filled in that the analyst must know: platform metadata
    columns, later-wave options this export lacks, non-response rows (previews, tests)."""
    notes = []
    if mapping.platform:
        notes.append(
            f"{len(mapping.platform)} collection metadata column(s) left out of the analysis: "
            + ", ".join(mapping.platform)
        )
    for col in mapping.absent_options:
        notes.append(
            f"question '{col.instance.id}' has no column for option '{col.option.label}' "  # type: ignore[union-attr]
            "(optional: added in a later wave): counted as not selected"
        )
    if "_response_type" in frame.columns:
        kinds = frame["_response_type"].drop_nulls()
        odd = kinds.filter(~kinds.str.to_lowercase().is_in(list(REAL_RESPONSE_TYPES)))
        if odd.len():
            counts = odd.value_counts(sort=True)
            listed = ", ".join(f"{v} ({n})" for v, n in counts.iter_rows())
            notes.append(
                f"{odd.len()} row(s) have a Response Type other than a real response: {listed}; "
                "they are kept: filter them out of the export if they are previews or tests"
            )
    return notes
