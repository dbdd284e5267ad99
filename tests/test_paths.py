"""Names that become paths are validated, and every output stays under --out (issue 11 item 8)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from pipeline.core.errors import InputError
from pipeline.core.paths import REFERENCE_DATA, SCHEMAS, check_month, output_dir
from pipeline.survey.flow import run_survey

runner = CliRunner()
EXPORT = str(REFERENCE_DATA / "interactions_2025_export.csv")


@pytest.mark.parametrize("month", ["2025-01/../../x", "../2025-01", "2025-13", "2025-1", "25-01"])
def test_a_month_must_be_yyyy_mm(month):
    with pytest.raises(InputError, match="YYYY-MM"):
        check_month(month)


def test_a_plain_month_passes():
    assert check_month("2025-01") == "2025-01"


@pytest.mark.parametrize("name", ["../x", "a/b", "/etc", "..", "."])
def test_output_folders_outside_the_root_are_refused(tmp_path, name):
    with pytest.raises(InputError, match="outside the output root"):
        output_dir(tmp_path, name)


def test_a_spec_naming_its_survey_with_dot_dots_cannot_write_outside_out(tmp_path):
    spec_dir = tmp_path / "spec"
    shutil.copytree(SCHEMAS / "surveys" / "interactions_2025", spec_dir)
    spec = spec_dir / "questionnaire.yaml"
    spec.write_text(spec.read_text().replace("survey: interactions_2025", 'survey: "../../x"', 1))
    victim = tmp_path / "x"
    victim.mkdir()
    (victim / "keep.txt").write_text("not yours")
    with pytest.raises(Exception) as err:
        run_survey(Path(EXPORT), spec, tmp_path / "a" / "b", suggest=False)
    assert getattr(err.value, "exit_code", None) == 2 and "survey" in str(err.value)
    assert (victim / "keep.txt").read_text() == "not yours"


@pytest.mark.parametrize(
    "args",
    [
        ["survey", "run", EXPORT, "--survey", "/etc/passwd"],
        ["survey", "ingest", EXPORT, "--survey", "../../etc"],
        ["joq", "import", EXPORT, "--month", "2025-01/../../x"],
        ["joq", "code", "2025-01/../../x", "--dry-run"],
    ],
    ids=["survey-abs", "survey-dotdot", "joq-import-month", "joq-code-month"],
)
def test_hostile_names_on_the_command_line_are_messages(tmp_path, args):
    extra = ["--db", str(tmp_path / "j.duckdb")] if args[0] == "joq" else []
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "YYYY-MM" in result.output or "lower-case letters" in result.output
