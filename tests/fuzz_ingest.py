"""Coverage-guided fuzzing of the ingest with atheris (run by ``make fuzz``, not by CI).

The property: for any bytes, ``read_export`` returns or raises a ``JoinedupError``; any other
exception is a bug. Seeds are small valid exports in every layout so mutations reach deep code.
Usage: python -m tests.fuzz_ingest --seconds 60
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import survey_fixtures as sf

from pipeline.core.errors import JoinedupError
from pipeline.survey.ingest import read_export

SPEC = sf.spec()
KEY = b"fuzz" * 8


def _seeds(folder: Path) -> list[bytes]:
    people = [sf.youth(1), sf.allied(2), sf.partial()]
    return [
        sf.surveymonkey_csv(folder / "a.csv", people).read_bytes(),
        sf.qualtrics_csv(folder / "b.csv", people).read_bytes(),
        sf.plain_csv(folder / "c.csv", people).read_bytes(),
        sf.surveymonkey_xlsx(folder / "d.xlsx", people).read_bytes(),
    ]


def check(data: bytes, scratch: Path) -> None:
    target = scratch / "input"
    target.write_bytes(data)
    with contextlib.suppress(JoinedupError):
        read_export(target, SPEC, key=KEY)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=int, default=60)
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="joinedup-fuzz-"))
    corpus = scratch / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(_seeds(scratch)):
        (corpus / f"seed{i}").write_bytes(seed)
    tried = 0
    start = 0.0

    def one_input(data: bytes) -> None:
        nonlocal tried, start
        if tried == 0:
            start = time.monotonic()  # instrumentation time is not fuzzing time
        tried += 1
        check(data, scratch)
        if time.monotonic() - start > args.seconds:
            print(
                f"fuzz: {tried} inputs tried in {args.seconds} s; no unexpected exception",
                flush=True,
            )
            os._exit(0)  # atheris treats SystemExit as a crash

    try:
        import atheris
    except ImportError:  # fall back to seeded random mutation, still bounded in time
        import random

        rng = random.Random(0)
        seeds = _seeds(scratch)
        while True:
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            one_input(bytes(data))
    atheris.instrument_all()
    atheris.Setup(
        [sys.argv[0], str(corpus), "-max_len=20000", f"-artifact_prefix={scratch}/"], one_input
    )
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
