"""Every YAML file is read by one loader, and every way it can be wrong gives one kind of message:
the file, the line, the field path and the fix (never a bare ScannerError or a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from cli import app
from pipeline.core import config
from pipeline.core.config import SURVEYS
from pipeline.core.errors import SpecError


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    label: str


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    options: list[Option] = []


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    survey: str
    version: int
    questions: list[Question]


GOOD = """\
survey: demo
version: 1
questions:
  - id: sector
    options:
      - code: edu
        label: Education
      - code: health
        label: Health
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def error(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(SpecError) as err:
        config.load(Spec, write(tmp_path, text), "demo spec")
    return str(err.value)


def test_a_good_file_loads_into_its_model_as_yaml_safe_load_reads_it(tmp_path):
    spec = config.load(Spec, write(tmp_path, GOOD))
    assert spec.questions[0].options[1].label == "Health"
    assert config.read(write(tmp_path, GOOD)).data == yaml.safe_load(GOOD)


@pytest.mark.parametrize("loader", ["libyaml", "pure"])
def test_a_colon_in_a_label_names_the_line_and_says_to_quote_it(tmp_path, monkeypatch, loader):
    if loader == "pure":
        monkeypatch.setattr(config, "_LOADER", yaml.SafeLoader)
    msg = error(tmp_path, GOOD.replace("label: Health", "label: Health: NHS"))
    assert "spec.yaml" in msg and "line 9" in msg and "not valid YAML" in msg
    assert "needs quotes" in msg and "ScannerError" not in msg


def test_other_syntax_errors_name_the_line(tmp_path):
    msg = error(tmp_path, GOOD.replace("  - id: sector", "  - id: [sector"))
    assert "line" in msg and "not valid YAML" in msg and "Fix:" in msg


def test_a_wrong_type_names_the_line_and_the_field_path(tmp_path):
    msg = error(tmp_path, GOOD.replace("version: 1", "version: one"))
    assert "invalid demo spec (1 problem)" in msg
    assert "line 2, field 'version'" in msg


def test_a_nested_unknown_field_names_its_own_line(tmp_path):
    msg = error(
        tmp_path,
        GOOD.replace("        label: Health", "        label: Health\n        colour: red"),
    )
    assert "line 10, field 'questions.0.options.1.colour'" in msg and "Extra inputs" in msg


def test_a_missing_field_names_the_mapping_that_lacks_it(tmp_path):
    msg = error(tmp_path, GOOD.replace("        label: Education\n", ""))
    assert "line 6, field 'questions.0.options.0.label'" in msg and "Field required" in msg


def test_every_problem_is_listed_at_once(tmp_path):
    msg = error(
        tmp_path, GOOD.replace("version: 1", "version: one").replace("id: sector", "id: [1]")
    )
    assert "(2 problems)" in msg and "line 2" in msg and "line 4" in msg


def test_a_duplicate_key_is_refused_not_silently_overwritten(tmp_path):
    msg = error(tmp_path, GOOD.replace("version: 1", "version: 1\nversion: 2"))
    assert "duplicate key" in msg and "line 3: key 'version' appears twice" in msg


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    msg = error(tmp_path, GOOD.replace("Health", "Sant\xe9").encode("cp1252"))
    assert "line 9: not UTF-8" in msg and "save the file as UTF-8" in msg


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(SpecError, match="demo spec not found"):
        config.load(Spec, tmp_path / "absent.yaml", "demo spec")


def test_a_list_where_a_mapping_belongs_is_a_top_level_problem(tmp_path):
    msg = error(tmp_path, "- just\n- a list\n")
    assert "line 1, field '(top level)'" in msg


def test_one_resolver_for_survey_files_and_month_frames(tmp_path):
    assert config.resolve("s1", file="tables.yaml") == SURVEYS / "s1" / "tables.yaml"
    assert config.resolve(tmp_path / "mine.yml", file="tables.yaml") == tmp_path / "mine.yml"
    assert config.resolve("2025-01", tmp_path) == tmp_path / "2025-01.yaml"


def test_the_cli_shows_the_line_of_a_broken_questionnaire(tmp_path):
    spec = (SURVEYS / "interactions_2025" / "questionnaire.yaml").read_text(encoding="utf-8")
    lines = spec.splitlines()
    k = next(i for i, line in enumerate(lines) if line.strip().startswith("label:"))
    lines[k] = lines[k].split("label:")[0] + "label: Youth work: open access"
    bad = tmp_path / "questionnaire.yaml"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    export = tmp_path / "e.csv"
    export.write_text("a,b\n1,2\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["survey", "ingest", str(export), "--survey", str(bad)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert f"line {k + 1}" in res.output and "needs quotes" in res.output
