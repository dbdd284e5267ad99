"""The CLI is thin and honest: every command has help ending in an example; errors exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import survey_fixtures as sf
import typer
from typer.main import get_command
from typer.testing import CliRunner

from cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[tuple[str, ...]]:
    root = get_command(app)
    out = []
    for group_name, group in root.commands.items():  # type: ignore[attr-defined]
        for name in getattr(group, "commands", {}):
            out.append((group_name, name))
    return out


def test_there_are_survey_and_joq_commands():
    groups = {g for g, _ in _commands()}
    assert {"survey", "joq"} <= groups


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_command_has_help_ending_with_an_example(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    text = re.sub(r"[│╭╰─╮╯]", " ", result.output)
    assert "Example: joinedup " + " ".join(path) in " ".join(text.split())
    cmd = get_command(app).commands[path[0]].commands[path[1]]  # type: ignore[attr-defined]
    last = (cmd.help or "").strip().split("\n\n")[-1]
    assert last.startswith(f"Example: joinedup {' '.join(path)}")


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_command_is_in_the_command_reference(path):
    assert f"`joinedup {path[0]} {path[1]}" in (ROOT / "docs" / "cli.md").read_text()


def test_bare_joinedup_prints_help():
    result = runner.invoke(app, [])
    assert "survey" in result.output


def test_a_bad_export_exits_2_with_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    result = runner.invoke(app, ["survey", "ingest", str(bad)])
    assert result.exit_code == 2
    assert "the file is empty" in result.output and "Traceback" not in result.output


def test_ingest_summarises_an_export(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "e.csv", [sf.youth(1), sf.allied(2)])
    result = runner.invoke(app, ["survey", "ingest", str(p)])
    assert result.exit_code == 0, result.output
    assert "2 responses, layout surveymonkey" in result.output
    assert "5 identifying columns dropped" in result.output


def test_pipeline_never_imports_typer():
    offenders = [
        p
        for p in (ROOT / "pipeline").rglob("*.py")
        if re.search(r"^\s*(import|from) typer", p.read_text(), re.M)
    ]
    assert offenders == []
    assert typer  # the CLI layer does


def test_profile_is_a_choice_the_option_parser_checks(tmp_path):
    p = sf.surveymonkey_csv(tmp_path / "e.csv", [sf.youth(1), sf.allied(2)])
    result = runner.invoke(app, ["survey", "run", str(p), "--profile", "public"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "analysis" in result.output and "publication" in result.output
