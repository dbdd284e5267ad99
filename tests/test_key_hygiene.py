"""Requirement 12: the pseudonym key never appears in the repository or in what the CLI prints."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import survey_fixtures as sf
from typer.testing import CliRunner

from cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_key_file_is_git_ignored_and_untracked():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".joinedup_key"], cwd=ROOT)
    assert ignored.returncode == 0
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert ".joinedup_key" not in tracked


def test_no_tracked_file_contains_the_local_key():
    """The suite's own key is a published test value; the real local key must be nowhere."""
    key_file = ROOT / ".joinedup_key"
    keys = [key_file.read_text().strip()] if key_file.exists() else []
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 5_000_000:
            data = path.read_bytes()
            assert not any(k.encode() in data for k in keys if len(k) >= 16), name


def test_cli_output_never_prints_the_key(tmp_path):
    export = sf.surveymonkey_csv(tmp_path / "e.csv", [sf.youth(1), sf.allied(2)])
    result = CliRunner().invoke(app, ["survey", "clean", str(export)])
    assert result.exit_code == 0, result.output
    assert os.environ["JOINEDUP_PSEUDONYM_KEY"] not in result.output
