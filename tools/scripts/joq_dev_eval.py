"""Score coder settings on the 2025-01 development set (answers written apart from the month).

Why: cross-validation on the month's human-coded answers has to switch phrases off (the phrases were
written from those answers), so it cannot judge the whole chain. The development set
(``data/reference/joq/dev/``: 90 answers, hand-coded under the 2025-01 frame by a writer who never
read the month's answers) can: it is scored with the month's training decisions and weak labels, as
if its answers had arrived with the month. The eval split is never touched.

    python tools/scripts/joq_dev_eval.py --db reports/out/joq_reference.duckdb [--config '{"accept": 0.6}' ...]

Run ``joinedup joq reference`` first (it builds the database with the training decisions). The
development answers' embeddings are cached in that database like any others.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline.joq import agreement as agr  # noqa: E402
from pipeline.joq import decide, scorers  # noqa: E402
from pipeline.joq.flow import _require_month, open_session, training_codes  # noqa: E402

DEV = ROOT / "data" / "reference" / "joq" / "dev"
MONTH = "2025-01"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=ROOT / "reports/out/joq_reference.duckdb")
    ap.add_argument(
        "--config",
        action="append",
        default=[],
        help="JSON threshold overrides; repeat to compare (default: the frame's own)",
    )
    a = ap.parse_args()
    s = open_session(a.db)
    frame = s.frame(MONTH)
    dev = pl.read_csv(DEV / f"{MONTH}_dev_answers.csv", infer_schema=False)
    gold = pl.read_csv(DEV / f"{MONTH}_dev_gold.csv", infer_schema=False)
    usable = _require_month(s, MONTH).filter(pl.col("usable"))
    dev_ids = dev["response_id"].to_list()
    ids = usable["response_id"].to_list() + dev_ids
    texts = usable["text"].to_list() + dev["text"].to_list()
    inp = scorers.code_inputs(frame, ids, texts, s.embed(texts), s.embed, training_codes(s, MONTH))
    codes = frame.code_ids()
    truth = agr.binary_matrix(gold, dev_ids, codes)
    print("config,macro_f1,mean_kappa,precision,recall")
    for cfg in a.config or ["{}"]:
        th = frame.thresholds.model_copy(update=json.loads(cfg))
        machine = decide.decide(scorers.score(inp, th, frame.sample.seed), inp.codes, ids, th)
        pred = agr.binary_matrix(machine, dev_ids, codes)
        m = agr.measures(truth, pred)
        tp = int((truth & pred).sum())
        print(
            f"'{cfg}',{m['macro_f1']:.3f},{m['mean_kappa']:.3f},"
            f"{tp / max(int(pred.sum()), 1):.3f},{tp / int(truth.sum()):.3f}"
        )


if __name__ == "__main__":
    main()
