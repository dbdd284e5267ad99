"""Declared survey tables (``spec``), the stats engine (``engine``) and Wilson intervals (``stats``)."""

from pipeline.survey.tables.definitions import TableSpec, TablesSpec, load_tables
from pipeline.survey.tables.engine import TIDY_COLUMNS, compute_table, compute_tables

__all__ = [
    "TIDY_COLUMNS",
    "TableSpec",
    "TablesSpec",
    "compute_table",
    "compute_tables",
    "load_tables",
]
