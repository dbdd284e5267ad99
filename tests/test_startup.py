"""Start-up (issue 17 item 2, issue 12 item 7): a JOQ command whose embeddings are all cached never
imports torch or sentence-transformers, and commands that embed nothing never import
scikit-learn. Timings are measured in `make bench`; this pins the behaviour behind them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.embed import HashingEmbedder, default_model_path, model_fingerprint
from pipeline.core.paths import REFERENCE_DATA, ROOT
from pipeline.joq import flow

MONTH = "2025-01"

# Runs commands in a fresh interpreter and reports which heavy packages they imported.
PROBE = """
import json, sys
from typer.testing import CliRunner
from cli import app
out = {}
for name, args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(app, args)
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "sentence_transformers", "sklearn"})
    out[name] = {"exit": r.exit_code, "output": r.output, "heavy": heavy}
print(json.dumps(out))
"""


class CachedOnlyEmbedder:
    """Stands in for the bundled model: its model id, hashing vectors. Filling the cache through it
    leaves the real model with nothing to embed."""

    def __init__(self) -> None:
        self.model_id = model_fingerprint(default_model_path())
        self._hash = HashingEmbedder(384)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._hash.encode(texts)


@pytest.fixture(scope="module")
def coded_month(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("startup")
    db, out = tmp / "joq.duckdb", tmp / "out"
    s = flow.open_session(db, out, embedder=CachedOnlyEmbedder())
    flow.run_import(s, REFERENCE_DATA / "joq" / f"{MONTH}_export.csv", MONTH)
    flow.run_code(s, MONTH)
    s.con.close()
    return db, out


def _probe(commands: list[tuple[str, list[str]]]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(commands)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_commands_on_a_cached_month_import_no_torch_and_reports_need_no_scikit_learn(coded_month):
    db, out = coded_month
    where = ["--db", str(db), "--out", str(out)]
    gold = REFERENCE_DATA / "joq"
    result = _probe(
        [
            ("review", ["joq", "review", MONTH, *where]),
            ("report", ["joq", "report", MONTH, *where]),
            (
                "agreement",
                [
                    "joq",
                    "agreement",
                    MONTH,
                    "--gold",
                    str(gold / f"{MONTH}_gold.csv"),
                    "--split",
                    str(gold / f"{MONTH}_split.csv"),
                    "--resamples",
                    "50",
                    *where,
                ],
            ),
            ("code", ["joq", "code", MONTH, *where]),
        ]
    )
    for name, r in result.items():
        assert r["exit"] == 0, (name, r["output"])
    assert result["review"]["heavy"] == [] and result["report"]["heavy"] == []
    assert "sklearn" not in result["agreement"]["heavy"]
    # `code` needs scikit-learn to score, but with every embedding cached it never loads the model
    assert "torch" not in result["code"]["heavy"]
    assert "sentence_transformers" not in result["code"]["heavy"]
    assert "embeddings computed 0" in result["code"]["output"]
