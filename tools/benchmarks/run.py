"""``make bench``: every benchmark in a fresh subprocess, medians, then results.md and .json.

python -m tools.benchmarks.run [--sizes 10000,100000,1000000] [--joq 237,5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
REF = "data/reference/interactions_2025_export.csv"


def sub(*args: str) -> dict:
    out = subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_runs(args: list[str], repeat: int) -> dict:
    runs = [sub(*args) for _ in range(repeat)]
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
    return {k: statistics.median(r[k] for r in runs) for k in keys} | {"runs": len(runs)}


def startup(repeat: int = 5) -> float:
    exe = Path(sys.executable).with_name("joinedup")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def survey_run(repeat: int = 3) -> dict:
    """Wall time of the real command on the 320-row reference export, start-up included: once
    with an empty suggestion cache (the model loads), then warm (every suggestion cached)."""
    import tempfile

    exe = Path(sys.executable).with_name("joinedup")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "JOINEDUP_CACHE_DIR": str(Path(tmp) / "cache")}
        times = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            cmd = [str(exe), "survey", "run", REF, "--out", str(Path(tmp) / "out")]
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - t0)
    return {"cold_s": times[0], "warm_s": statistics.median(times[1:])}


def machine() -> dict:
    import psutil

    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            p: version(p)
            for p in (
                "polars",
                "pandas",
                "pandera",
                "numpy",
                "torch",
                "sentence-transformers",
                "duckdb",
            )
        },
        "gpu": "not available in this session (GPU row: not measured)",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--joq", default="237,5000")
    ap.add_argument(
        "--joq-large", default="50000", help="sizes measured through the pipeline only ('' skips)"
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--render", action="store_true", help="only rewrite results.md from .json")
    a = ap.parse_args()
    if a.render:
        render(json.loads((HERE / "results.json").read_text()))
        return
    from tools.benchmarks.data_gen import survey_export

    res: dict = {"machine": machine(), "survey": {}, "coding": {}, "repeat": a.repeat}
    res["machine"]["load_start"] = [round(x, 1) for x in os.getloadavg()]
    res["startup_s"] = startup()
    res["survey_run"] = survey_run()
    res["commands"] = sub("-m", "tools.benchmarks.commands")
    print("commands", json.dumps(res["commands"]), flush=True)
    _save(res)
    res["survey"]["320 (reference)"] = median_runs(
        ["-m", "tools.benchmarks.survey_scale", REF], a.repeat
    )
    for n in map(int, a.sizes.split(",")):
        path = str(survey_export(n))
        rep = a.repeat if n < 1_000_000 else 1
        row = median_runs(["-m", "tools.benchmarks.survey_scale", path], rep)
        fl = median_runs(["-m", "tools.benchmarks.survey_scale", path, "floor"], rep)
        row["floor"], row["floor_peak_mb"] = fl["floor"], fl["peak_mb"]
        row["pandas"] = median_runs(["-m", "tools.benchmarks.survey_scale", path, "pandas"], 1)[
            "pandas"
        ]
        row["same"] = median_runs(["-m", "tools.benchmarks.survey_scale", path, "same"], rep)[
            "same"
        ]
        res["survey"][str(n)] = row
        print(n, json.dumps(row), flush=True)
        _save(res)
    res["coding"]["tune"] = sub("-m", "tools.benchmarks.coding_scale", "tune")["tune"]
    for n in map(int, a.joq.split(",")):
        res["coding"][str(n)] = sub("-m", "tools.benchmarks.coding_scale", str(n))
        print(n, json.dumps(res["coding"][str(n)]), flush=True)
    _save(res)
    res["joq_scale"] = {}
    for n in (int(x) for x in a.joq_large.split(",") if x):
        res["joq_scale"][str(n)] = sub("-m", "tools.benchmarks.joq_scale", str(n))
        print(n, json.dumps(res["joq_scale"][str(n)]), flush=True)
        _save(res)
    res["machine"]["load_end"] = [round(x, 1) for x in os.getloadavg()]
    _save(res)
    render(res)


def _save(res: dict) -> None:
    """After every section, so a long run that is stopped keeps what it measured."""
    (HERE / "results.json").write_text(json.dumps(res, indent=1) + "\n")


PROFILE = """## Profile and fixes

pyinstrument on `read_export` of the 10k export (before): 9.5 s, of which 7.5 s in
`Series.map_elements(norm)` (one Python `norm` call per cell, ~2.6M cells), 0.8 s building
per-column lists from the grid and 0.5 s in `csv.reader`. At 1M rows the list-of-lists grid alone
(~264M Python strings) would not fit in memory.

Fixes (behaviour unchanged; the mapped frame, sha256, encoding, blank rows and deny-list are
identical to the old code on the reference and 10k exports, and tests/test_ingest.py passes as is):

1. `mapping._convert`: `norm` runs once per *distinct* value (`unique()`), then `is_in` /
   `replace_strict` map the column; no per-cell Python, no `to_list()` round trips.
2. `grid.fast_grid`: a plain, well-formed CSV is parsed by `polars.read_csv(has_header=False,
   infer_schema=False)` (cp1252 re-encoded to UTF-8 first; UTF-8 validated in chunks without
   building the decoded string). A vectorised byte scan (`_plain_records`, numpy: quote parity,
   fields per record, blank records) proves first that every record has the header's field
   count, no record is blank and quoting is RFC 4180; anything else (ragged rows, blank rows,
   stray quotes, lone CR, NUL, parse errors) falls back to the csv-module path, which gives the
   pinned messages and row numbers.
3. `read_export` hashes the file in 16 MiB chunks instead of a second full `read_bytes()`.

| 10k export | before | after (that bench) |
|---|---|---|
| ingest s | 6.22 | 0.47 |
| whole run s | 9.21 | 2.56 |

Second round, at 1M rows (first measured after the fixes above): peak 11.5 GB, total 80.3 s, of
which ingest 44.3 s and tables 21.7 s. pyinstrument showed three things:

4. The whole file's strings were in memory at once (polars reading the 2 GB file alone peaks at
   7.7 GB) plus the raw bytes and the typed frame. Files above 128 MB are now parsed and
   converted in row chunks cut at record boundaries the byte scan already finds
   (`grid.Grid.chunks`), so only one chunk's strings live at a time; unknown option values are
   gathered over all chunks and reported once.
5. In the tables engine, every table filtered the whole wide frame with its masks attached
   (`with_columns` then `filter`): 2 of 3 s at 100k. It now selects only the masks first.
6. Per-cell `strip_chars` (and `fill_null`) on every option column, and a `bytes.strip()` that
   copied the 2 GB file for the empty-file check: option columns are now mapped over distinct
   raw values, and the empty check is a regex that stops at the first byte.

| 1M rows | before | after (separate run) | after (that bench) |
|---|---|---|---|
| ingest s | 44.3 | 38.9 | see table above |
| tables s | 21.7 | 13.0 | see table above |
| total s | 80.3 | 65.1 | see table above |
| read floor s | 17.7 | - | see table above |
| peak MB | 11,494 | 5,287 | see table above |

At 100k: total 13.3 s -> 8.1 s, tables 5.2 s -> 1.7 s. The 1M ratio to the floor moves between
runs (3.7x against the floor of 17.7 s measured beside the "before" run; 4.8x in that bench, whose
floor was 14.9 s); what is left is mostly ingest's own passes over the bytes (UTF-8 check, CR
check, quote scan: ~9 s at 1M), the per-row HMAC pseudonym (3.5 s) and routing the loop long
(5 s). Validation (pandera) is vectorised already (polars expressions).

Third round (issue 17, previous session). That session's `make bench` was made on a machine shared
with other developers' test suites (load average 11-14 on 2 cores): wall seconds are several times an idle machine's and are not comparable with
the previous `make bench` (b9ee831: 1M in 64.4 s, 4.8x a 13.5 s floor, peak 5,336 MB, like for
like 1.6x pandas). Each fix was therefore measured side by side, before and after under the same
load, where that was possible:

7. Ingest streams a large file: above `CHUNK_BYTES` (128 MB) the export is memory-mapped, not
   read into one `bytes`; one fused pass checks UTF-8 (ASCII blocks skip the decoder), NUL, lone
   CR, quoting and field counts and hashes the file (the manifest's SHA-256 was a second read),
   releasing each block's pages behind it; each record-aligned part is released once parsed.
   100k export (204 MB), two alternating runs each under the same load: peak 1,353 / 1,348 MB
   before, 1,211 / 1,209 MB after. At 1M the peak is 5,162 MB (5,336 MB in the previous bench):
   the raw bytes no longer bound it; the typed wide frame and the copies made by the later
   stages do, which this round did not profile (target 3 GB: not met).
8. Pseudonyms: 1M distinct ids in one process under the same load, the per-id `hmac` loop took
   13.7 s and HMAC written as two SHA-256 passes in one DuckDB expression 3.6 s (3.8x); at 100k
   both took 3.1 s, so the DuckDB path starts at 100k distinct ids (`pseudonym.VECTORISED_FROM`);
   equality with `hmac` is tested for short, 64-byte and long keys.
9. Routing filters each loop item on its gate before stacking the items, instead of stacking
   every respondent x item and filtering after. Not one unpivot: unpivoting every loop column and
   pivoting back moves more data than selecting per item. Its effect was not measured side by
   side (route at 1M: 25.9 s here, 5.2 s in the idle previous bench; the whole run was 5.1x slower).
10. Start-up: the JOQ stage modules (scikit-learn) are imported only by the commands that run them,
    the hashing embedder builds its vectoriser on first use, and (with the lazy embedder of
    issue 10) a command whose embeddings are all cached never imports torch
    (`tests/test_startup.py`). CPU seconds (user + system, start-up included, median of 3) from
    `python -m tools.benchmarks.commands`, run on the tree before this round (1f09a3a), on this
    branch before rebasing onto the lead's latest main (the make bench run above), and on the
    rebased branch that is delivered (the "commands" section of results.json and the targets table
    come from this last run, made separately after the make bench run, under the same load):

    | command | before CPU s | this branch | rebased (delivered) |
    |---|---|---|---|
    | `joq report` | 3.89 | 1.53 | 1.41 |
    | `joq review` | 3.51 | 1.02 | 1.00 |
    | `joq agreement` | 3.23 | 1.21 | 1.36 |
    | `joq code` (warm cache) | 3.70 | 3.82 | 3.77 |
    | `survey run` (320 rows) | 15.23 | 12.85 | 5.80 |

    `joq code` still imports scikit-learn (k-means for the "other" queue, the few-shot logistic
    regression), which alone costs about 2.5 s of CPU (it imports scipy.stats and pandas). The
    rebased `survey run` has issue 14's cached suggestions (the first of the three runs filled
    the cache and loaded the model, hence "imported torch").
"""


def load_sentence(m: dict) -> str:
    """Whether the wall times can be read as an idle machine's: the load beside the cores."""
    start, end = m.get("load_start"), m.get("load_end")
    if not start:
        return "Load: not recorded."
    said = (
        f"load average (1, 5, 15 min) {start} at the start, {end or '?'} at the end, on "
        f"{m['cores']} cores"
    )
    if max(start[0], (end or start)[0]) <= m["cores"]:
        return f"Load: nothing else ran on the machine ({said}): wall times are an idle machine's."
    return (
        f"Load: the machine was shared with other work while this ran ({said}). Wall times are "
        "inflated by that load; ratios measured side by side (ours / read floor / pandas) less "
        "so, and CPU seconds are shown for commands."
    )


def render(res: dict) -> None:
    m = res["machine"]
    surv = res["survey"]
    big = max((k for k in surv if k.isdigit()), key=int, default=None)
    ref = surv.get("320 (reference)", {})
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m tools.benchmarks.run`). Medians of "
        f"{res.get('repeat', 3)} run(s) per survey size (1 run at 1M and for pandas), each in a "
        "fresh subprocess.",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['platform']}, "
        f"Python {m['python']}. GPU: {m['gpu']}.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "",
        load_sentence(m),
        "",
        *(["Notes:", "", *[f"- {n}" for n in res["notes"]], ""] if res.get("notes") else []),
        "## Survey scale (seconds per stage; peak = max RSS of the run's process)",
        "",
        table(res),
        "",
    ]
    tgt = ["## Targets", "", "| target | result | met |", "|---|---|---|"]
    if big:
        r = surv[big]
        ratio, fast = r["total"] / r["floor"], r["pandas"] / r["total"]
        full = big == "1000000"
        note = "" if full else " (1M not measured in this run)"
        tgt.append(
            f"| 1M rows within 3x read floor | {big} rows: {ratio:.1f}x{note} | "
            f"{('yes' if ratio <= 3 else 'no') if full else 'not measured'} |"
        )
        floor_peak = (
            f"; polars reading the file alone peaks at {r['floor_peak_mb']:.0f} MB"
            if r.get("floor_peak_mb")
            else ""
        )
        tgt.append(
            f"| 1M rows peak <= 3 GB | {big} rows: {r['peak_mb']:.0f} MB{floor_peak}{note} | "
            f"{('yes' if r['peak_mb'] <= 3072 else 'no') if full else 'not measured'} |"
        )
        same = r["pandas"] / r["same"] if r.get("same") else None
        like = f"like for like (same six tables) {same:.1f}x; " if same else ""
        tgt.append(
            f"| like for like >= 3x faster than pandas | {big} rows: {like}whole run "
            f"{fast:.1f}x | {'yes' if (same or fast) >= 3 else 'no'} |"
        )
    if ref:
        tgt.append(
            f"| 320-row run < 3 s after start-up | {ref['total']:.2f} s | "
            f"{'yes' if ref['total'] < 3 else 'no'} |"
        )
    if "survey_run" in res:
        run = res["survey_run"]
        tgt.append(
            "| `survey run` 320 rows again into the same folder < 3 s incl. start-up (nothing "
            "changed: the report is kept) | "
            f"{run['warm_s']:.2f} s (median of 3; the first run {run['cold_s']:.2f} s with an "
            "empty suggestion cache: the model loads) | "
            f"{'yes' if run['warm_s'] < 3 else 'no'} |"
        )
    tgt.append(
        f"| `joinedup --help` < 0.5 s | {res['startup_s']:.2f} s (median of 5) | "
        f"{'yes' if res['startup_s'] < 0.5 else 'no'} |"
    )
    from tools.benchmarks.commands import TARGETS

    for name, limit in TARGETS.items():
        c = res.get("commands", {}).get(name)
        if c is None:
            tgt.append(f"| `joinedup {name}` < {limit} s | not measured | not measured |")
            continue
        torch = "imported torch" if c["torch"] else "no torch"
        tgt.append(
            f"| `joinedup {name}` < {limit} s, start-up included | {c['s']:.2f} s wall, "
            f"{c['cpu_s']:.2f} s CPU (median of {c['runs']}; {torch}) | "
            f"{'yes' if c['s'] < limit else 'no'} (CPU: {'yes' if c['cpu_s'] < limit else 'no'}) |"
        )
    for k, c in res["coding"].items():
        if k == "tune" or c is None:
            continue
        if c.get("ratio") is not None:
            tgt.append(
                f"| JOQ pipeline >= 0.9x `encode` alone ({k} answers) | {c['ratio']:.2f}x | "
                f"{'yes' if c['ratio'] >= 0.9 else 'no'} |"
            )
        tgt.append(
            f"| JOQ warm re-run < 5% of cold ({k} answers) | "
            f"{100 * c['warm_over_cold']:.1f}% | "
            f"{'yes' if c['warm_over_cold'] < 0.05 else 'no'} |"
        )
    for n, r in (res.get("joq_scale") or {}).items():
        c = r["code (cold)"]
        tgt.append(
            f"| JOQ {int(n):,} answers measured (throughput, peak memory, warm re-run) | "
            f"cold `joq code` {c['s']:.0f} s ({r['answers_per_s_cold']:.0f} answers/s), peak "
            f"{max(r[k]['peak_mb'] for k in JOQ_STEPS)} MB, warm re-run "
            f"{r['code (warm)']['s']:.1f} s ({100 * r['warm_over_cold']:.1f}% of cold), "
            f"re-scored with cached embeddings {r['code (rescore)']['s']:.1f} s | yes |"
        )
    cod = [
        "## Coding scale (JOQ embeddings, CPU)",
        "",
        "| answers | encode alone /s | pipeline (cache, cold) /s | ratio | warm / cold | peak MB |",
        "|---|---|---|---|---|---|",
    ]
    for k, c in res["coding"].items():
        if k == "tune":
            continue
        if c is None:
            cod.append(f"| {k} | not measured (stopped; see notes) | - | - | - | - |")
            continue
        floor = f"{c['encode_per_s']:.0f}" if c.get("encode_per_s") else "not run"
        ratio = f"{c['ratio']:.2f}" if c.get("ratio") else "-"
        cod.append(
            f"| {k} | {floor} | {c['pipeline_per_s']:.0f} | "
            f"{ratio} | {100 * c['warm_over_cold']:.1f}% ({c['warm_s']:.1f} s) | "
            f"{c['peak_mb']:.0f} |"
        )
    cod += [
        "",
        "GPU (`--device cuda`): not measured (no GPU in this session).",
        "",
        "Batch size x pre-sorting by length (512 answers, encode alone, answers/s):",
        "",
        "| batch | sorted | per s |",
        "|---|---|---|",
    ]
    cod += [f"| {t['batch']} | {t['sorted']} | {t['per_s']:.0f} |" for t in res["coding"]["tune"]]
    cod += [
        "",
        "sentence-transformers already sorts each call by length internally, so pre-sorting "
        "changes little; the default stays batch 32 (`pipeline/core/embed.py`).",
        "",
    ]
    text = "\n".join(
        lines + tgt + [""] + cod + joq_scale_section(res) + [PROFILE] + notes_sections()
    )
    (HERE / "results.md").write_text(text)
    print(text)


NOTES = HERE / "notes"


def notes_sections() -> list[str]:
    """Hand-written sections kept beside the generated tables (``notes/*.md``, in name order), so
    a round's profile and side-by-side measurements survive the next ``make bench``."""
    return [p.read_text().rstrip() + "\n" for p in sorted(NOTES.glob("*.md"))]


JOQ_STEPS = ("import", "code (cold)", "code (warm)", "code (rescore)", "report", "review")


def joq_scale_section(res: dict) -> list[str]:
    """A month of tens of thousands of answers through the whole CLI (``joq_scale``)."""
    runs = res.get("joq_scale") or {}
    out = [
        "## A very large JOQ month (whole commands, `python -m tools.benchmarks.joq_scale N`)",
        "",
        "The reference month's rows resampled to N distinct answers, the 2025-01 frame, each "
        "command in a fresh process (wall s / CPU s / peak MB); the cold `joq code` embeds every "
        "answer with the bundled model; warm: run again with nothing changed (the stored result is "
        "reused); rescore: the stored result forgotten (what a new decision or a frame edit "
        "does), every embedding cached.",
        "",
    ]
    if not runs:
        return [*out, "Not measured in this run (`--joq-large ''`).", ""]
    out += [
        "| answers | "
        + " | ".join(JOQ_STEPS)
        + " | answers/s (cold code) | warm / cold | rescore / cold |"
    ]
    out += ["|" + "---|" * (len(JOQ_STEPS) + 4)]
    for n, r in runs.items():
        cells = [f"{r[k]['s']:.1f} / {r[k]['cpu_s']:.1f} / {r[k]['peak_mb']}" for k in JOQ_STEPS]
        out.append(
            f"| {int(n):,} | " + " | ".join(cells) + f" | {r['answers_per_s_cold']:.0f} | "
            f"{100 * r['warm_over_cold']:.1f}% | {100 * r['rescore_over_cold']:.1f}% |"
        )
    loads = "; ".join(f"{n}: {r['load_start']} -> {r['load_end']}" for n, r in runs.items())
    return [*out, "", f"Load average (1, 5, 15 min) at start and end: {loads}.", ""]


def table(res: dict) -> str:
    lines = [
        "| rows | ingest | validate | clean | route | tables | report | total s | peak MB "
        "| read floor s | total / floor | pandas s | pandas / ours | same 6 tables s "
        "| pandas / same |",
        "|" + "---|" * 15,
    ]
    for name, r in res["survey"].items():
        floor, pandas = r.get("floor"), r.get("pandas")
        lines.append(
            f"| {name} | "
            + " | ".join(
                f"{r[k]:.2f}"
                for k in ("ingest", "validate", "clean", "route", "tables", "report", "total")
            )
            + f" | {r['peak_mb']:.0f} | "
            + (
                f"{floor:.2f} | {r['total'] / floor:.1f}x | "
                f"{pandas:.2f} | {pandas / r['total']:.1f}x |"
                if floor
                else "- | - | - | - |"
            )
            + (f" {r['same']:.2f} | {pandas / r['same']:.1f}x |" if r.get("same") else " - | - |")
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
