"""Shared by the survey-init tests: init + run an export, and check every table row's n and base
against a plain pandas count of the same export columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import yaml
from typer.testing import CliRunner

from cli import app
from pipeline.survey.infer.draft import infer_draft
from pipeline.survey.questionnaire import load_questionnaire

runner = CliRunner()


def init_and_run(export: Path, tmp: Path, *extra: str) -> tuple[Path, Path]:
    """`survey init` into tmp/spec, then `survey run --allow-draft`; (spec dir, report dir)."""
    spec_dir = tmp / "spec"
    r = runner.invoke(
        app, ["survey", "init", str(export), "--survey", "drafted", "--into", str(spec_dir), *extra]
    )
    assert r.exit_code == 0, r.output
    out = tmp / "out"
    spec = str(spec_dir / "questionnaire.yaml")
    r = runner.invoke(
        app,
        [
            "survey",
            "run",
            str(export),
            "--survey",
            spec,
            "--allow-draft",
            "--out",
            str(out),
            "--no-suggest",
        ],
    )
    assert r.exit_code == 0, r.output
    return spec_dir, out / "drafted"


def _raw(export: Path, header_rows: int, encoding: str) -> pd.DataFrame:
    return pd.read_csv(
        export, header=None, dtype=str, keep_default_na=False, encoding=encoding
    ).iloc[header_rows:]


def pandas_matches_report(export: Path, tmp: Path, encoding: str | None = None) -> int:
    """Every table row's n and base equal a pandas count of the same export columns, over
    the rows the ledger kept. Returns the number of table rows checked."""
    spec_dir, out = init_and_run(export, tmp)
    draft = infer_draft(export)
    spec = load_questionnaire(spec_dir / "questionnaire.yaml")
    raw = _raw(export, draft.profile.header_rows, encoding or draft.profile.grid.encoding)
    idx = draft.column_index()
    ledger = pd.read_csv(out / "working" / "ledger.csv", dtype=str, keep_default_na=False)
    kept = {int(r) for r in ledger.loc[ledger["rule"] == "usable", "row"]}
    raw = raw[[i + 1 in kept for i in raw.index]].apply(lambda c: c.str.strip())
    assert len(kept) == int(pd.read_csv(out / "funnel.csv").set_index("step").loc["usable"].iloc[0])
    tables = yaml.safe_load((spec_dir / "tables.yaml").read_text(encoding="utf-8"))["tables"]
    checked = 0
    for t in tables:
        if t["statistic"] not in ("frequency", "multi_response"):
            continue
        q = spec.question(t["question"])
        tidy = pl.read_csv(out / "tables" / f"{t['id']}.csv", infer_schema_length=0)
        for row in tidy.iter_rows(named=True):
            if q.type == "multi":
                opt_cols = [raw[idx[n]] for n in draft.column_keys() if n.startswith(q.id + "__")]
                answered = pd.concat([c != "" for c in opt_cols], axis=1).any(axis=1)
                col = raw[idx[f"{q.id}__{row['row']}"]]
                n, base = int(((col != "") & answered).sum()), int(answered.sum())
            else:
                col = raw[idx[q.id]]
                option = next(o for o in spec.options(q) if o.code == row["row"])
                labels = {option.label, option.code, *option.aliases}  # a code is accepted too
                n, base = int(col.isin(labels).sum()), int((col != "").sum())
            assert (int(row["n"]), int(row["base"])) == (n, base), (t["id"], row["row"])
            checked += 1
    return checked
