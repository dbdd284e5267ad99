"""Survey pipeline at scale: wall and CPU time and peak memory per stage for one export.

``python -m tools.benchmarks.survey_scale PATH`` runs one measurement in this process and prints JSON;
``run.py`` calls it in a fresh subprocess per size so ``ru_maxrss`` is that run's peak alone.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from pathlib import Path

KEY = b"bench-key-" * 4
STAGES = ("ingest", "validate", "clean", "route", "tables", "report")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class RssSampler(threading.Thread):
    """Peak resident memory per stage: /proc/self/status VmRSS read every 20 ms (tracemalloc
    does not see polars' or Arrow's allocations; ``ru_maxrss`` is only the whole run's peak)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stage, self.peak, self._done = "", 0.0, threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, _vm_rss_mb())

    def take(self) -> float:
        """The peak since the last call, the current RSS included; starts the next window."""
        peak, self.peak = max(self.peak, _vm_rss_mb()), 0.0
        return peak

    def stop(self) -> None:
        self._done.set()


def _vm_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def stages(path: Path, report_dir: Path | None = None) -> dict[str, float]:
    """Seconds per stage, calling the library functions the CLI calls (no quotes or suggestions)."""
    from pipeline.survey.clean import clean, load_recodes
    from pipeline.survey.ingest import read_export
    from pipeline.survey.questionnaire import load_questionnaire
    from pipeline.survey.route import route
    from pipeline.survey.tables.definitions import load_tables
    from pipeline.survey.tables.engine import compute_tables
    from pipeline.survey.validate import clean_schema, loop_schema, mapped_schema, validate

    t: dict[str, float] = {}
    spec = load_questionnaire("interactions_2025")
    tables_spec = load_tables("interactions_2025")
    rss = RssSampler()

    def lap(name, fn):
        start, cpu = time.perf_counter(), _cpu()
        rss.stage = name
        out = fn()
        t[name] = t.get(name, 0.0) + time.perf_counter() - start
        t[f"cpu_{name}"] = t.get(f"cpu_{name}", 0.0) + _cpu() - cpu
        t[f"peak_mb_{name}"] = max(t.get(f"peak_mb_{name}", 0.0), rss.take())
        return out

    ing = lap("ingest", lambda: read_export(path, spec, key=KEY))
    lap("validate", lambda: validate(ing.frame, mapped_schema(spec), "mapped", spec))
    cleaned = lap("clean", lambda: clean(ing.frame, spec, load_recodes(spec), None))
    lap("validate", lambda: validate(cleaned.usable, clean_schema(spec), "clean", spec))
    data = lap("route", lambda: route(cleaned.usable, spec))
    for loop, frame in data.loops.items():
        lap("validate", lambda f=frame, lp=loop: validate(f, loop_schema(spec, lp, []), lp, spec))
    tables = lap("tables", lambda: compute_tables(data, tables_spec))
    if report_dir is not None:
        lap("report", lambda: _report(report_dir, spec, ing, cleaned, data, tables, tables_spec))
    rss.stop()
    t["total"] = sum(t[k] for k in STAGES if k in t)
    t["rows"] = ing.frame.height
    return t


SAME_TABLES = ("table-F-1", "figure-F-3", "table-F-3", "table-3-1", "figure-F-7", "figure-4-1")


def same_work(path: Path) -> dict[str, float]:
    """Like for like with ``pandas_baseline``: read, map, clean, route and the same six tables,
    without validation, the other tables or the report (which the pandas version does not do)."""
    from pipeline.survey.clean import clean, load_recodes
    from pipeline.survey.ingest import read_export
    from pipeline.survey.questionnaire import load_questionnaire
    from pipeline.survey.route import route
    from pipeline.survey.tables.definitions import load_tables
    from pipeline.survey.tables.engine import compute_tables

    start = time.perf_counter()
    spec = load_questionnaire("interactions_2025")
    tables = [t for t in load_tables("interactions_2025") if t.id in SAME_TABLES]
    ing = read_export(path, spec, key=KEY)
    data = route(clean(ing.frame, spec, load_recodes(spec), None).usable, spec)
    compute_tables(data, tables, low_base=30, suppress_base=10)
    return {"same": time.perf_counter() - start}


def _report(out, spec, ing, cleaned, data, tables, tables_spec) -> None:
    from pipeline.survey.clean import write_ledger_outputs
    from pipeline.survey.published import load_published
    from pipeline.survey.report.render import write_survey_report
    from pipeline.survey.verify import check_published

    out.mkdir(parents=True, exist_ok=True)
    check = check_published(
        tables, load_published(spec.survey), tables_spec=tables_spec, funnel=cleaned.funnel
    )
    write_ledger_outputs(cleaned, out)
    manifest = {"synthetic": True, "seeds": {}}
    write_survey_report(
        out,
        data=data,
        tables=tables,
        check=check,
        funnel=cleaned.funnel,
        ledger=cleaned.ledger,
        manifest=manifest,
        spec=spec,
        tables_spec=tables_spec,
        profile="analysis",
        synthetic=True,
        quotes=[],
    )


def read_floor(path: Path) -> float:
    """The I/O floor: polars reading every cell as a string, header rows skipped."""
    import polars as pl

    start = time.perf_counter()
    pl.read_csv(path, has_header=False, skip_rows=2, infer_schema=False)
    return time.perf_counter() - start


def main() -> None:
    import tempfile

    path = Path(sys.argv[1])
    what = sys.argv[2] if len(sys.argv) > 2 else "pipeline"
    if what == "floor":
        result = {"floor": read_floor(path)}
    elif what == "same":
        result = same_work(path)
    elif what == "pandas":
        from tools.benchmarks.pandas_baseline import tables as pandas_tables

        start = time.perf_counter()
        pandas_tables(path)
        result = {"pandas": time.perf_counter() - start}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = stages(path, Path(tmp) / "report")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_mb"] = usage.ru_maxrss / 1024
    result["cpu_s"] = usage.ru_utime + usage.ru_stime  # start-up included; steadier than wall
    print(json.dumps(result))


if __name__ == "__main__":
    main()
