"""Scaled inputs for the benchmarks, written once into git-ignored ``tools/benchmarks/data/``.

Survey: the reference export's *usable* respondents resampled (seeded) to N rows, same
SurveyMonkey layout and header rows, UTF-8 with BOM and CRLF. Each row gets a new respondent id
and its own collector id (so the identical-answers rule does not collapse the resample). JOQ: the
reference month's answers resampled with light perturbation (a prefix, a suffix, a word dropped)
so texts differ and the embedding cache cannot shortcut them.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

from pipeline.core.hashing import file_sha256

REF = Path("data/reference/interactions_2025_export.csv")
JOQ_REF = Path("data/reference/joq/2025-01_export.csv")
DATA = Path(__file__).resolve().parent / "data"
SEED = 20250116
VERSION = 1  # bump when the generator changes, so cached files are rebuilt


def _line(cells: list[str]) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue()


def _usable_rows() -> set[int]:
    from pipeline.survey.flow import prepare

    p = prepare(REF, "interactions_2025", suggest=False, key=b"bench" * 8)
    return set(p.cleaned.usable["_row"].to_list())


def _cached(path: Path, params: dict) -> bool:
    """True when ``path`` exists and was made from the same parameters and reference bytes."""
    meta = path.with_suffix(path.suffix + ".json")
    if not (path.exists() and meta.exists()):
        return False
    saved = json.loads(meta.read_text())
    return saved.get("params") == params and saved.get("sha256") == _sha(path)


def _sha(path: Path) -> str:
    return file_sha256(path)


def _mark(path: Path, params: dict) -> None:
    meta = path.with_suffix(path.suffix + ".json")
    meta.write_text(json.dumps({"params": params, "sha256": _sha(path)}, indent=1))


def survey_export(n: int) -> Path:
    """A SurveyMonkey CSV of ``n`` responses resampled from the reference's usable ones."""
    path = DATA / f"survey_{n}.csv"
    params = {"n": n, "seed": SEED, "version": VERSION, "ref": _sha(REF)}
    if _cached(path, params):
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rows = list(csv.reader(io.StringIO(REF.read_text(encoding="utf-8-sig"), newline="")))
    usable = _usable_rows()
    pool = [r for k, r in enumerate(rows[2:], start=3) if k in usable]
    tails = [_line(r[2:]) for r in pool]  # everything after Respondent ID and Collector ID
    rng = random.Random(SEED)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write(_line(rows[0]) + _line(rows[1]))
        for start in range(0, n, 50_000):
            k = min(50_000, n - start)
            picks = [rng.randrange(len(pool)) for _ in range(k)]
            fh.write(
                "".join(
                    f"{9_000_000_000 + start + i},{500_000_000 + start + i},{tails[p]}"
                    for i, p in enumerate(picks)
                )
            )
    tmp.replace(path)
    _mark(path, params)
    return path


PREFIXES = ["", "", "Honestly, ", "I think ", "For us, ", "Mainly ", "In our area, "]
SUFFIXES = ["", "", ".", " - that would help.", " would make a difference", " for young people"]


def joq_texts(n: int) -> list[str]:
    """``n`` JOQ answers: reference answers with a seeded prefix, suffix or dropped word."""
    with JOQ_REF.open(encoding="utf-8") as fh:
        base = [r["Answer"] for r in csv.DictReader(fh) if r["Answer"].strip()]
    if n <= len(base):
        return base[:n]
    rng = random.Random(SEED + n)
    out = list(base)
    while len(out) < n:
        words = rng.choice(base).split()
        if len(words) > 4 and rng.random() < 0.5:
            del words[rng.randrange(len(words))]
        out.append(f"{rng.choice(PREFIXES)}{' '.join(words)}{rng.choice(SUFFIXES)} #{len(out)}")
    return out
