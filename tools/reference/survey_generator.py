"""SYNTHETIC reference export for interactions_2025, calibrated to the published figures.

The real microdata are not public. This generator writes a SurveyMonkey-style export (320 rows:
296 usable, 1 identical re-submission, 23 background-only partials) whose closed answers are
allocated (``survey_allocate``) so that the pipeline's declared rules reproduce the figures in
``schemas/surveys/interactions_2025/published.yaml``. Targets come only from that file; structure only from the
questionnaire spec; the ``Other`` sector texts and their recodes from ``recodes.yaml``.

    python -m tools.reference.survey_generator --seed 20250116 --out data/reference
    python -m tools.reference.survey_generator --check     # published vs recomputed
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.core import config
from pipeline.core.paths import REFERENCE_DATA, ROOT
from pipeline.survey.published import load_published
from pipeline.survey.questionnaire import CHOICE_TYPES, Questionnaire, load_questionnaire
from tools.reference import survey_text as tx
from tools.reference.survey_allocate import Answers, Model, Respondent, allocate
from tools.reference.survey_write import update_checksums, write_outputs

SURVEY = "interactions_2025"
STEM = f"{SURVEY}_export"
DEFAULT_SEED = 20250116
METADATA = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
            "Email Address", "First Name", "Last Name", "Custom Data 1"]  # fmt: skip
COLLECTORS = {"431587290": 0.7, "431587311": 0.2, "432004518": 0.1}  # weblink, email, social
N_PARTIAL = 23
N_OUTSIDE_ENGLAND = 10
N_BLANK_POSTCODE = 4


@dataclass
class Row:
    """One raw export row before rendering: answers plus SurveyMonkey metadata."""

    answers: Answers
    kind: str  # usable | partial | duplicate
    collector: str = ""
    start: datetime | None = None
    respondent_id: str = ""


def load_recodes(spec: Questionnaire) -> list[dict[str, str]]:
    path = spec.directory / "recodes.yaml"
    return list(config.read(path, "recode table").data["entries"])  # type: ignore[index]


# ---------------------------------------------------------------------- free text
def add_sector_text(
    people: list[Respondent], recodes: list[dict[str, str]], rng: random.Random
) -> None:
    """Recoded answers: an allied respondent of that sector answered 'Other' with the text;
    the respondents still 'Other' get reviewed keep-as-other texts and a few unreviewed ones."""
    allied = [p for p in people if p.route == "allied"]
    rng.shuffle(allied)
    for entry in [e for e in recodes if e["category"] != "other"]:
        r = next(
            p for p in allied if p.sector == entry["category"] and p.answers["sector"] != "other"
        )
        r.answers["sector"] = "other"
        r.answers["sector__other_text"] = entry["text"]
    texts = [e["text"] for e in recodes if e["category"] == "other"] + tx.UNREVIEWED_OTHER
    others = [p for p in allied if p.sector == "other"]
    if len(texts) != len(others):
        raise ValueError(
            f"recodes.yaml + unreviewed give {len(texts)} texts for {len(others)} 'Other'"
        )
    for r, text in zip(others, texts, strict=True):
        r.answers["sector__other_text"] = text


def add_open_text(spec: Questionnaire, people: list[Respondent], rng: random.Random) -> None:
    """Open questions answered by a share of those shown them; other-specify boxes when ticked."""
    shares = {"benefits_text": 0.6, "disadvantages_text": 0.8, "barriers_text": 0.7,
              "stopped_text": 0.8, "effective_practice_text": 0.5,
              "allied_benefits_text": 0.6, "allied_practice_text": 0.5}  # fmt: skip
    gates = {"benefits_text": "benefits", "effective_practice_text": "format"}
    for k, r in enumerate(people):
        for qid, share in shares.items():
            q = spec.question(qid)
            if q.route != r.route or rng.random() > share:
                continue
            gate = q.shown_if.question if q.shown_if else gates.get(qid)
            if q.shown_if and r.answers.get(gate) not in q.shown_if.in_:
                continue
            if not q.shown_if and gate and gate not in r.answers:
                continue
            r.answers[qid] = tx.open_answer(rng, qid, k)
        _other_boxes(r, rng)
    youth = [r for r in people if r.route == "youth" and "format" in r.answers]
    for r, hostile in zip(rng.sample(youth, 2), tx.HOSTILE, strict=True):
        r.answers["effective_practice_text"] = f"{hostile} shared calendar with the school"


def _other_boxes(r: Respondent, rng: random.Random) -> None:
    if "other" in r.answers.get("more_interaction", set()):  # type: ignore[operator]
        r.answers["more_interaction__other_text"] = rng.choice(tx.MORE_OTHER)
    if r.answers.get("allied_barriers") and rng.random() < 0.1:
        r.answers["allied_barriers__other_text"] = rng.choice(tx.BARRIER_OTHER)
    for key in [k for k in r.answers if k.startswith("purposes_")]:
        if rng.random() < 0.03:
            r.answers[f"{key}__other_text"] = rng.choice(tx.PURPOSE_OTHER)


def add_postcodes(people: list[Respondent], rng: random.Random) -> None:
    order = list(people)
    rng.shuffle(order)
    for k, r in enumerate(order):
        if k < N_OUTSIDE_ENGLAND:
            r.answers["postcode"] = tx.postcode(rng, tx.OUTSIDE_ENGLAND[k])
        elif k >= N_OUTSIDE_ENGLAND + N_BLANK_POSTCODE:
            r.answers["postcode"] = tx.england_postcode(rng)


# ---------------------------------------------------------------------- partials, duplicate
def partials(spec: Questionnaire, rng: random.Random, n: int) -> list[Answers]:
    """Background-only answers (some not even all of those), each distinct from the others."""
    sector_codes = ["youth"] * 6 + ["education", "healthcare", "youth_justice", "housing"]
    out: list[Answers] = []
    for _ in range(n):
        a: Answers = {"sector": rng.choice(sector_codes)}
        for qid in ("org_type", "employees", "area", "role", "tenure"):
            q = spec.question(qid)
            if q.shown_if and a.get(q.shown_if.question) not in q.shown_if.in_:
                continue
            if rng.random() < 0.75:
                a[qid] = rng.choice([o.code for o in spec.options(q)])
        if rng.random() < 0.8:
            a["postcode"] = tx.england_postcode(rng)
        out.append(a)
    return out


def schedule(rows: list[Row], spec: Questionnaire, rng: random.Random) -> None:
    """Collectors, start times and increasing 11-digit respondent ids (ordered by start)."""
    fw = spec.model.fieldwork
    start = datetime.fromisoformat(fw.start if fw else "2025-01-16")
    end = datetime.fromisoformat(fw.end if fw else "2025-02-06")
    codes, weights = list(COLLECTORS), list(COLLECTORS.values())
    for row in rows:
        if row.kind != "duplicate":
            row.collector = rng.choices(codes, weights=weights)[0]
            row.start = tx.start_time(rng, start, end - timedelta(days=1))
    for row in rows:
        if row.kind == "duplicate":
            source = next(r for r in rows if r.answers is row.answers and r.kind == "usable")
            row.collector = source.collector
            row.start = (source.start or start) + timedelta(hours=rng.randint(2, 20))
    rows.sort(key=lambda r: r.start or start)
    rid = 11_824_000_000 + rng.randint(0, 99_999)
    for row in rows:
        rid += rng.randint(1_000, 90_000)
        row.respondent_id = str(rid)


# ---------------------------------------------------------------------- rendering
def header_rows(spec: Questionnaire) -> tuple[list[str], list[str]]:
    heads = spec.surveymonkey_headers()
    return METADATA + [h[0] for h in heads], [""] * len(METADATA) + [h[1] for h in heads]


def render(spec: Questionnaire, answers: Answers) -> list[str]:
    """Question cells in spec order: option label, ticked label, or text; empty when unanswered."""
    cells: list[str] = []
    for col in spec.columns:
        inst = col.instance
        value = answers.get(inst.id)
        if col.kind == "other_text":
            cells.append(str(answers.get(f"{inst.id}__other_text", "")))
        elif col.kind == "option":
            ticked = isinstance(value, set) and col.option and col.option.code in value
            cells.append(col.option.label if ticked and col.option else "")
        elif inst.question.type in CHOICE_TYPES:
            labels = {o.code: o.label for o in inst.options}
            cells.append(labels[value] if isinstance(value, str) else "")
        else:
            cells.append(str(value) if value else "")
    return cells


def metadata(row: Row, rng: random.Random) -> list[str]:
    start = row.start or datetime(2025, 1, 16)
    minutes = 2 if row.kind == "partial" else rng.randint(6, 28)
    end = start + timedelta(minutes=minutes, seconds=rng.randint(0, 59))
    first, last, email = tx.person(rng, named=row.collector == "431587311" or rng.random() < 0.15)
    return [row.respondent_id, row.collector, tx.sm_time(start), tx.sm_time(end),
            tx.ip_address(rng), email, first, last, rng.choice(tx.ORG_CODES)]  # fmt: skip


def build_rows(seed: int) -> list[list[str]]:
    """The whole export (two header rows, then 320 data rows) for one seed."""
    spec = load_questionnaire(SURVEY)
    published = load_published(SURVEY)
    rng = random.Random(seed + 1)
    people = allocate(spec, published, seed, Model())
    add_sector_text(people, load_recodes(spec), rng)
    add_postcodes(people, rng)
    add_open_text(spec, people, rng)
    rows = [Row(p.answers, "usable") for p in people]
    rows.append(Row(rng.choice(rows[: len(people)]).answers, "duplicate"))
    rows += [Row(a, "partial") for a in partials(spec, rng, N_PARTIAL)]
    schedule(rows, spec, rng)
    body = [metadata(r, rng) + render(spec, r.answers) for r in rows]
    _assert_distinct(body, rows)
    return [*header_rows(spec), *body]


def _assert_distinct(body: list[list[str]], rows: list[Row]) -> None:
    """Only the planted re-submission may repeat another row's answers (else cleaning would
    remove it as a duplicate too)."""
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for cells, row in zip(body, rows, strict=True):
        key = (row.collector, *cells[len(METADATA) :])
        repeats += key in seen
        seen.add(key)
    if repeats != 1:
        raise ValueError(f"expected exactly one identical re-submission, found {repeats}")


def generate(seed: int, out: Path, listing: Path | None = None) -> dict[Path, str]:
    written = write_outputs(out, STEM, build_rows(seed))
    if listing is not None:
        rel = {str(p.resolve().relative_to(ROOT)): h for p, h in written.items()}
        update_checksums(listing, rel)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=REFERENCE_DATA)
    ap.add_argument("--check", action="store_true", help="compare published values with the data")
    args = ap.parse_args(argv)
    if args.check:
        from tools.reference.survey_check import run_check

        return run_check(args.out / f"{STEM}.csv")
    out = args.out.resolve()
    listing = out / "SYNTHETIC.sha256" if out == REFERENCE_DATA.resolve() else None
    for path, digest in generate(args.seed, out, listing).items():
        print(f"{digest}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
