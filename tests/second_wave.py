"""A seeded second wave of the interactions survey, as an analyst would receive it.

What changed since 2025, on purpose: the sector question is reworded, the format question has a
new option, respondents typed new "Other" texts (one differs from a reviewed text only in case),
and the file is cp1252 with CRLF line ends, with partial responses and a duplicate submission.
``second_wave_spec`` makes the two spec edits an analyst would make (an alias, an optional option).
"""

from __future__ import annotations

import csv
import io
import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from openpyxl import Workbook
from survey_fixtures import META, _cell, allied, partial, youth

from pipeline.core.paths import SCHEMAS
from pipeline.survey.questionnaire import Questionnaire, load_questionnaire

OLD_SECTOR = (
    "We know your work may not fit neatly into one sector. However, which of the following best "
    "describes the sector you work in?"
)
NEW_SECTOR = (
    "We know your work may not fit neatly into one sector. However, which of the following best "
    "describes the sector you mainly work in?"
)
NEW_FORMAT = {"code": "online_platform", "label": "Online platform (Teams channel, shared drive)"}
NEW_OTHER = ["DWP work coach", "Youth Offending Team", "Café project – town council"]
HOSTILE_OTHER = "![x](//host/p.png) it's <b>me</b> {{ 7*7 }}"
REVIEWED_OTHER = ["NHS CAMHS", "Arts organisation", "Police - schools liaison"]
ALLIED = ["education", "social_care", "healthcare", "youth_justice", "housing"]
FORMATS = ["video_phone", "email", "in_person", "text_whatsapp", NEW_FORMAT["code"]]


@dataclass(frozen=True)
class Wave:
    path: Path
    rows: int  # responses written (header rows not counted)
    partials: int
    duplicates: int


def second_wave_spec(dst: Path) -> Questionnaire:
    """The 2025 spec plus the analyst's two edits: the new sector wording as an alias, and the
    new format option (optional, so the 2025 export still runs)."""
    target = dst / "interactions_2025"
    shutil.copytree(SCHEMAS / "surveys" / "interactions_2025", target)
    path = target / "questionnaire.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for q in data["questions"]:
        if q["id"] == "sector":
            q["aliases"] = [NEW_SECTOR]
        if q["id"] == "format":
            q["options"] = [*q["options"], {**NEW_FORMAT, "optional": True}]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return load_questionnaire(path)


def _respondent(i: int, rng: random.Random) -> dict[str, object]:
    kind = rng.random()
    if kind < 0.10:
        return partial(role=rng.choice(["leader", "practitioner"]))
    if kind < 0.55:
        formats = sorted(rng.sample(FORMATS, rng.randint(1, 3)))
        return youth(i, format=formats, tenure=rng.choice(["1_3", "over_5"]))
    if kind < 0.80:
        return allied(i, sector=rng.choice(ALLIED))
    return allied(i, sector="other", sector__other_text=rng.choice(NEW_OTHER + REVIEWED_OTHER))


def write_second_wave(path: Path, spec: Questionnaire, *, seed: int, n: int = 150) -> Wave:
    """``n`` respondents plus one duplicate submission, SurveyMonkey layout, cp1252, CRLF
    (or the same rows as an XLSX workbook when ``path`` ends in .xlsx)."""
    rng = random.Random(seed)
    people = [_respondent(i, rng) for i in range(n)]
    people[3] = youth(3, format=["email", NEW_FORMAT["code"]])  # the new option is used
    people[5] = allied(5, sector="other", sector__other_text="  DWP work coach ")  # trimmed
    people[7] = allied(7, sector="other", sector__other_text=HOSTILE_OTHER)
    heads = spec.surveymonkey_headers()
    row1 = META + [NEW_SECTOR if h[2] == "sector" else h[0] for h in heads]
    row2 = [""] * len(META) + [h[1] for h in heads]
    start = datetime(2026, 3, 2, 9, 0, 0)
    data = []
    for i, r in enumerate(people):
        t = start + timedelta(minutes=7 * i)
        data.append(_meta(10000000001 + i, t) + [_cell(spec, h[2], r) for h in heads])
    dup = data[10][:]  # respondent 11 submitted twice; the later one goes
    dup[2] = dup[3] = (start + timedelta(days=3)).strftime("%m/%d/%Y %I:%M:%S %p")
    data.insert(40, dup)
    if path.suffix == ".xlsx":  # the same wave as a workbook (encoding does not apply)
        wb = Workbook()
        for r in [row1, row2, *data]:
            wb.active.append(r)
        wb.save(path)
    else:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows([row1, row2, *data])
        path.write_bytes(buf.getvalue().encode("cp1252"))
    partials = sum(
        1 for r in people if "interacted_education" not in r and "allied_interacted" not in r
    )
    return Wave(path, len(data), partials, 1)


def _meta(rid: int, t: datetime) -> list[str]:
    stamp = t.strftime("%m/%d/%Y %I:%M:%S %p")
    return [
        str(rid),
        "400000002",
        stamp,
        stamp,
        "198.51.100.7",
        f"r{rid}@example.org",
        "Sam",
        "Jones",
        "",
    ]
