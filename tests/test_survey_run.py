"""The whole survey run on the reference export: published funnel, complete outputs, nothing leaked,
reproducible bytes, atomic replacement, provenance."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

import pipeline.survey.report.render as survey_report
from pipeline.core.paths import REFERENCE_DATA
from pipeline.survey.flow import run_survey

EXPORT = REFERENCE_DATA / "interactions_2025_export.csv"
KEY = os.environ["JOINEDUP_PSEUDONYM_KEY"]


def _run(out: Path) -> Path:
    return run_survey(EXPORT, "interactions_2025", out, suggest=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1738800000")
    a = _run(tmp_path_factory.mktemp("run_a"))
    b = _run(tmp_path_factory.mktemp("run_b"))
    mp.undo()
    return a, b


def _files(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file())


def test_reference_export_reproduces_the_published_funnel(runs):
    funnel = dict(pl.read_csv(runs[0] / "funnel.csv").iter_rows())
    assert funnel == {
        "raw": 320,
        "removed_duplicate": 1,
        "removed_partial": 23,
        "usable": 296,
        "other_sector": 27,
        "other_recoded": 9,
        "route_youth": 252,
        "route_allied": 44,
    }
    ledger = pl.read_csv(runs[0] / "working" / "ledger.csv")
    assert ledger.height == 320 and ledger["row"].n_unique() == 320


def test_report_directory_has_every_output(runs):
    d = runs[0]
    for name in (
        "report.html",
        "report.md",
        "tables.xlsx",
        "funnel.csv",
        "working/ledger.csv",
        "manifest.json",
        "validation.txt",
        "working/other_review.csv",
    ):
        assert (d / name).is_file(), name
    assert not (d / "published_check.csv").exists()  # only with --check-published
    tables = list((d / "tables").glob("*.csv"))
    assert len(tables) >= 25
    head = tables[0].read_text().splitlines()[0]
    assert head.startswith("table_id,group,row,row_label,n,base,pct,ci_low,ci_high,flag")


def test_two_runs_give_identical_bytes_and_cell_values(runs):
    a, b = runs
    assert [p.relative_to(a) for p in _files(a)] == [p.relative_to(b) for p in _files(b)]
    for pa in _files(a):
        pb = b / pa.relative_to(a)
        if pa.suffix == ".xlsx":
            wa, wb = load_workbook(pa), load_workbook(pb)
            assert [[c.value for r in ws.iter_rows() for c in r] for ws in wa] == [
                [c.value for r in ws.iter_rows() for c in r] for ws in wb
            ]
        else:
            assert pa.read_bytes() == pb.read_bytes(), pa.name


def _identifying_values() -> list[str]:
    with EXPORT.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    cols = {h: header.index(h) for h in ("IP Address", "Email Address", "First Name", "Last Name")}
    values = set()
    for r in rows[2:]:
        values.add(r[cols["IP Address"]])
        values.add(r[cols["Email Address"]])
        values.add(f"{r[cols['First Name']]} {r[cols['Last Name']]}".strip())
        values.add(r[0])  # raw respondent id
    return sorted(v for v in values if len(v) >= 6)


def test_no_output_contains_an_email_ip_name_raw_id_or_the_key(runs):
    needles = _identifying_values()
    assert len(needles) > 300
    for path in _files(runs[0]):
        if path.suffix == ".xlsx":
            wb = load_workbook(path)
            text = "\n".join(
                str(c.value) for ws in wb for r in ws.iter_rows() for c in r if c.value is not None
            )
        else:
            text = path.read_text(encoding="utf-8")
        leaked = [n for n in needles if n in text]
        assert leaked == [], f"{path.name} leaks {leaked[:3]}"
        assert KEY not in text


def test_manifest_records_provenance(runs):
    m = json.loads((runs[0] / "manifest.json").read_text())
    assert (
        m["input"]["sha256"]
        and m["input"]["encoding"] == "utf-8-sig"
        and m["input"]["layout"] == "surveymonkey"
    )
    assert m["spec_version"] and len(m["spec_sha256"]) == 64
    assert m["synthetic"] is True
    assert {"polars", "duckdb", "pandera"} <= set(m["packages"])
    assert m["git_commit"] and m["generated_at"] == "2025-02-06T00:00:00Z"


def test_synthetic_input_is_labelled_in_the_report(runs):
    assert "SYNTHETIC" in (runs[0] / "report.html").read_text().upper()
    assert "SYNTHETIC" in (runs[0] / "report.md").read_text().upper()


def test_failure_mid_run_leaves_previous_report_intact(runs, tmp_path, monkeypatch):
    final = tmp_path / runs[0].name  # a previous complete report (a copy of run A's)
    shutil.copytree(runs[0], final)
    before = {p.relative_to(final): p.read_bytes() for p in _files(final)}

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure while writing the report")

    monkeypatch.setattr(survey_report, "write_survey_report", boom)
    with pytest.raises(RuntimeError, match="injected"):
        _run(tmp_path)
    after = {p.relative_to(final): p.read_bytes() for p in _files(final)}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == [final.name]  # no temporary directories left


def test_a_rerun_with_nothing_changed_keeps_the_report_and_any_change_recomputes(
    runs, tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from cli import app

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1738800000")
    final = tmp_path / runs[0].name
    shutil.copytree(runs[0], final)  # run A's report: written for these very inputs
    args = ["survey", "run", str(EXPORT), "--out", str(tmp_path), "--no-suggest"]
    before = {p.relative_to(final): (p.read_bytes(), p.stat().st_mtime_ns) for p in _files(final)}

    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "nothing changed since this report was written" in res.output
    assert "'Other' answer(s)" in res.output  # the unreviewed texts are still listed
    assert res.output.rstrip().endswith("report.html")
    after = {p.relative_to(final): (p.read_bytes(), p.stat().st_mtime_ns) for p in _files(final)}
    assert after == before  # not one file rewritten

    (final / "report.html").write_text("edited by hand")  # an output no longer as written
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0 and "nothing changed" not in res.output
    assert (final / "report.html").read_bytes() == (runs[0] / "report.html").read_bytes()

    res = CliRunner().invoke(app, [*args, "--fresh"])
    assert res.exit_code == 0 and "nothing changed" not in res.output
    res = CliRunner().invoke(app, [*args, "--profile", "publication"])  # another option
    assert res.exit_code == 0 and "nothing changed" not in res.output
    assert (final / "manifest.json").read_text().count('"profile": "publication"') == 1


def test_the_rerun_key_changes_with_each_input_the_report_depends_on(tmp_path):
    from pipeline.survey import rerun

    export = tmp_path / "e.csv"
    export.write_text("a\n1\n")
    spec = tmp_path / "q.yaml"
    spec.write_text("x: 1\n")
    opts = {"profile": "analysis", "strict": False}
    base = rerun.run_key(export, {"questionnaire": spec}, opts, "kf_1")
    assert rerun.run_key(export, {"questionnaire": spec}, opts, "kf_1") == base
    assert rerun.run_key(export, {"questionnaire": spec}, opts, "kf_2") != base
    assert rerun.run_key(export, {"questionnaire": spec}, {**opts, "strict": True}, "kf_1") != base
    spec.write_text("x: 2\n")
    assert rerun.run_key(export, {"questionnaire": spec}, opts, "kf_1") != base
    spec.write_text("x: 1\n")
    export.write_text("a\n2\n")
    assert rerun.run_key(export, {"questionnaire": spec}, opts, "kf_1") != base
