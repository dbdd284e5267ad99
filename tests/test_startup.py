"""Start-up (issue 17 item 2, issue 12 item 7): a JOQ command whose embeddings are all cached never
imports torch or sentence-transformers, and commands that embed nothing never import
scikit-learn. Timings are measured in `make bench`; this pins the behaviour behind them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
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
    out[name] = {"exit": r.exit_code, "output": r.output, "heavy": heavy,
                 "openpyxl": "openpyxl" in sys.modules}
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


# --- instant re-runs: `joq code` reuses its stored result while nothing that decides it changed ---

CODE_OUTPUTS = ("machine_codes.csv", "other_review.csv")


@pytest.fixture
def own_copy(coded_month, tmp_path) -> tuple[Path, Path, Path]:
    """The coded month's database, outputs and frames folder, copied for one test to change."""
    db, out = coded_month
    shutil.copy(db, tmp_path / "joq.duckdb")
    shutil.copytree(out, tmp_path / "out")
    frames = tmp_path / "frames"
    frames.mkdir()
    shutil.copy(ROOT / "coding_frames" / "joq" / f"{MONTH}.yaml", frames)
    shutil.copy(ROOT / "coding_frames" / "taxonomy.yaml", frames)
    return tmp_path / "joq.duckdb", tmp_path / "out", frames


def _outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / f"joq_{MONTH}" / name).read_bytes() for name in CODE_OUTPUTS}


def test_a_code_rerun_with_nothing_changed_writes_the_same_bytes_without_scikit_learn(own_copy):
    db, out, _ = own_copy
    first = _outputs(out)
    result = _probe([("code", ["joq", "code", MONTH, "--db", str(db), "--out", str(out)])])
    code = result["code"]
    assert code["exit"] == 0, code["output"]
    assert code["heavy"] == []  # neither the model nor scikit-learn: nothing was scored
    assert not code["openpyxl"]  # it writes CSV only
    assert "nothing changed since the last run" in code["output"]
    assert _outputs(out) == first


def test_a_code_rerun_recomputes_when_a_decision_the_frame_a_threshold_or_the_import_changes(
    own_copy,
):
    from pipeline.joq import review, store

    db, out, frames = own_copy
    s = flow.open_session(db, out, frames, embedder=CachedOnlyEmbedder())
    assert flow.run_code(s, MONTH).cached  # a copy of the frame files: the same bytes, same inputs
    answer = store.responses(s.con, MONTH, usable_only=True)["response_id"][0]
    decision = pl.DataFrame(
        {"response_id": [answer], "codes": [["other"]], "exclude_quote": [None], "note": [None]},
        schema={
            "response_id": pl.String,
            "codes": pl.List(pl.String),
            "exclude_quote": pl.Boolean,
            "note": pl.String,
        },
    )
    review.store_decisions(s.con, MONTH, decision, "AB")
    run = flow.run_code(s, MONTH)
    assert not run.cached and run.n_training == 1
    assert flow.run_code(s, MONTH).cached
    frame = frames / f"{MONTH}.yaml"
    frame.write_text(frame.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert not flow.run_code(s, MONTH).cached
    assert not flow.run_code(s, MONTH, {"accept": 0.61}).cached
    assert flow.run_code(s, MONTH, {"accept": 0.61}).cached
    store.mark_needs_recode(s.con, MONTH, "the export was replaced", "now")
    assert not flow.run_code(s, MONTH, {"accept": 0.61}).cached
    s.con.close()


def test_the_xlsx_control_character_pattern_is_openpyxls_own():
    """export.py keeps openpyxl's pattern without importing openpyxl (CSV-only commands)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from pipeline.core.safety import export

    assert export.ILLEGAL_CHARACTERS_RE.pattern == ILLEGAL_CHARACTERS_RE.pattern


def test_large_file_digests_are_remembered_until_the_file_changes(tmp_path):
    """The model's weights are hashed once per change, not once per command."""
    from pipeline.core.hashing import file_sha256, remembered_sha256

    weights, memo = tmp_path / "model.safetensors", tmp_path / "cache" / "digests.json"
    weights.write_bytes(b"weights v1")
    first = remembered_sha256(weights, memo)
    assert first == file_sha256(weights) and memo.is_file()
    # the remembered digest is what a second call returns while the file's stat is unchanged
    known = json.loads(memo.read_text())
    known[str(weights.resolve())]["sha256"] = "remembered"
    memo.write_text(json.dumps(known))
    assert remembered_sha256(weights, memo) == "remembered"
    weights.write_bytes(b"weights v2, another size")
    assert remembered_sha256(weights, memo) == file_sha256(weights)
    memo.write_text("{not json")  # a damaged memo costs the hashing, nothing else
    assert remembered_sha256(weights, memo) == file_sha256(weights)


def test_the_digest_memo_forgets_files_that_are_gone(tmp_path):
    import json

    from pipeline.core.hashing import remembered_sha256

    memo = tmp_path / "memo.json"
    gone, kept = tmp_path / "gone.csv", tmp_path / "kept.csv"
    gone.write_text("a\n")
    kept.write_text("b\n")
    remembered_sha256(gone, memo)
    gone.unlink()
    remembered_sha256(kept, memo)
    assert list(json.loads(memo.read_text())) == [str(kept.resolve())]
