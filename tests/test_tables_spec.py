"""tables.yaml: validated on load, ids unique, every published id exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tables_factory import spec

from pipeline.core import config
from pipeline.core.config import SURVEYS
from pipeline.core.errors import SpecError
from pipeline.survey.tables.definitions import load_tables

SURVEY = "interactions_2025"


def test_spec_loads_and_ids_are_unique() -> None:
    tables = load_tables(SURVEY, spec())
    ids = [t.id for t in tables]
    assert len(ids) == len(set(ids))
    assert ids[0] == "table-3-1"  # report order: chapter 3 first


def test_every_published_id_exists() -> None:
    path = config.resolve(SURVEY, file="published.yaml")
    if not path.exists():
        pytest.skip("published figures not transcribed yet")
    figures = {f["id"] for f in yaml.safe_load(path.read_text(encoding="utf-8"))["figures"]}
    tables = load_tables(SURVEY, spec())
    for fig in tables.published_map():
        assert fig in figures, fig


def _write(tmp_path: Path, tables: list[dict]) -> Path:
    p = tmp_path / "tables.yaml"
    p.write_text(
        yaml.safe_dump({"survey": SURVEY, "version": "1", "tables": tables}), encoding="utf-8"
    )
    return p


BASE = {
    "id": "figure-F-1",
    "title": "t",
    "question": "employees",
    "population": {"label": "all"},
    "base": "answered",
    "base_text": "all who answered",
    "statistic": "frequency",
    "exclusive": True,
    "source": "s",
}


def test_unknown_field_names_file_and_field(tmp_path: Path) -> None:
    p = _write(tmp_path, [{**BASE, "basis": "answered"}])
    with pytest.raises(SpecError) as err:
        load_tables(p, spec())
    assert "tables.yaml" in str(err.value) and "tables.0.basis" in str(err.value)


def test_references_are_checked_against_the_questionnaire(tmp_path: Path) -> None:
    bad = [
        {**BASE, "question": "no_such_question"},
        {**BASE, "id": "figure-F-3", "question": "purposes", "statistic": "frequency"},
        {**BASE, "id": "figure-F-4", "rows": [{"id": "not_an_option"}]},
        {**BASE, "id": "figure-F-5", "question": "format", "statistic": "multi_response"},
    ]
    with pytest.raises(SpecError) as err:
        load_tables(_write(tmp_path, bad), spec())
    text = str(err.value)
    assert "unknown question 'no_such_question'" in text
    assert "cannot use a multi question" in text
    assert "unknown code 'not_an_option'" in text
    assert "only asked on route 'youth'" in text


def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="duplicate table id"):
        load_tables(_write(tmp_path, [BASE, BASE]), spec())


def test_default_path() -> None:
    assert config.resolve(SURVEY, file="tables.yaml") == SURVEYS / SURVEY / "tables.yaml"
    assert config.resolve("elsewhere/t.yml", file="tables.yaml") == Path("elsewhere/t.yml")
