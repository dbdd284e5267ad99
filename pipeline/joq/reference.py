"""The reference run: every synthetic reference month end to end, in its own database.

Why: it is the project's smoke test and its measurement. For each month under
``data/reference/joq/`` it imports the export, loads the gold codes of the ``sample`` and
``exemplar`` split as human decisions (coder ``reference-gold``; never the ``eval`` split), codes,
measures agreement on the eval split, writes the report and the REFI-QDA project and codebook
(``<month>.qdpx``, ``<month>.qdc``), then the trends page.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.embed import Embedder
from pipeline.core.errors import InputError
from pipeline.core.paths import REFERENCE_DATA
from pipeline.joq import agreement as agr
from pipeline.joq import exchange, flow, publish

MONTH_FILE = re.compile(r"^(\d{4}-\d{2})_export\.(csv|xlsx)$")


@dataclass
class MonthResult:
    month: str
    imported: str
    n_training: int
    agreement: dict | None
    report: Path
    seconds: float


def reference_months(ref_dir: Path) -> dict[str, Path]:
    found = {}
    for p in sorted(ref_dir.glob("*_export.*")):
        m = MONTH_FILE.match(p.name)
        if m:
            found[m.group(1)] = p
    return found


def run_reference(
    out: Path,
    db: Path | None = None,
    ref_dir: Path | None = None,
    embedder: Embedder | None = None,
    frames_dir: Path | None = None,
) -> tuple[list[MonthResult], Path, dict[str, int]]:
    ref_dir = ref_dir or REFERENCE_DATA / "joq"
    months = reference_months(ref_dir)
    if not months:
        raise InputError("no reference exports (<YYYY-MM>_export.csv|xlsx) found", file=ref_dir)
    s = flow.open_session(db or out / "joq_reference.duckdb", out, frames_dir, embedder)
    results = []
    for month, export in months.items():
        t0 = time.perf_counter()
        imp = flow.run_import(s, export, month, replace=True)
        gold, split = ref_dir / f"{month}_gold.csv", ref_dir / f"{month}_split.csv"
        has_gold = gold.is_file() and split.is_file()
        if has_gold:
            flow.load_gold_decisions(s, month, gold, split)
        run = flow.run_code(s, month)
        summary = None
        if has_gold:
            summary = agr.summary(flow.run_agreement(s, month, gold, split))
        report = publish.write_month_report(s, month)
        # REFI-QDA copies for NVivo, MAXQDA, ATLAS.ti and QualCoder, beside the report
        exchange.export_month(
            s, month, report.parent / f"{month}.qdpx", report.parent / f"{month}.qdc"
        )
        results.append(
            MonthResult(
                month, imp.summary(), run.n_training, summary, report, time.perf_counter() - t0
            )
        )
    trends = publish.write_trends(s)
    counts = {"computed": s.cache.computed, "reused": s.cache.reused}
    s.con.close()
    return results, trends, counts


def agreement_line(month: str, a: dict) -> str:
    def f(x: float, ci: tuple[float, float]) -> str:
        return f"{x:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"

    return (
        f"{month}: eval n={a['n_answers']}  macro-F1 {f(a['macro_f1'], a['macro_f1_ci'])}  "
        f"mean kappa {f(a['mean_kappa'], a['mean_kappa_ci'])}  "
        f"alpha {f(a['alpha'], a['alpha_ci'])}"
    )


__all__ = ["MonthResult", "agreement_line", "run_reference"]
