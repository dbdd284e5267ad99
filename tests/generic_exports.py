"""Small generated exports of surveys joinedup has no spec for, modelled on the real files in
../shared/external/ (which are never copied here): a SurveyMonkey two-row export (question text
only on a question's first column, cp1252), the same data flattened to one header row with
"Question - Other (please specify)" and duplicate headers, and a Qualtrics three-row export
(ImportId row, choice codes). Deterministic: the same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

VOLUNTEER = "Do you volunteer with young people?"
WORK = "Where do you mostly work?"
WORK_OPTIONS = ["Youth club", "School", "Outdoors"]
ACTIVITIES = "Which activities do you run? Please select all that apply."
ACTIVITY_OPTIONS = ["Sport", "Arts", "Mentoring", "Residential trips"]
MATRIX = "How far do you agree with each statement about your local area?"
MATRIX_ITEMS = ["There is enough to do", "Young people feel safe", "Services work together"]
AGREE = ["Strongly agree", "Agree", "Neither agree nor disagree", "Disagree", "Strongly disagree"]
RANK = "Please rank these priorities, 1 = most important"
RANK_ITEMS = ["Funding", "Training", "Premises"]
COUNT = "How many young people do you work with in a typical week?"
HELP = "What would help you most in your role?"
AGE = "Age"
AGES = ["18-24", "25-44", "45-64", "65 or over"]
META = [
    "Respondent ID",
    "Collector ID",
    "Start Date",
    "End Date",
    "IP Address",
    "Email Address",
    "First Name",
    "Last Name",
    "Custom Data 1",
]
PLACES = ["Leeds café", "Village hall", "Community centre", "Library", "Church hall"]
WISHES = [
    "More funding for trips",
    "Training on safeguarding",
    "A bigger hall",
    "Time to plan, ring me on 07700 900123 or mail sam@example.org",
]


@dataclass(frozen=True)
class Respondent:
    volunteer: str
    work: str  # an option label, "Other (please specify)" or ""
    work_other: str
    activities: list[str]
    activity_other: str
    matrix: list[str]
    ranks: list[str]
    count: str
    help: str
    age: str
    partial: bool  # answered only the first question


def respondents(n: int = 60, seed: int = 7, *, extra_option: bool = False) -> list[Respondent]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        partial = i % 12 == 5
        work = rng.choice([*WORK_OPTIONS, "Other (please specify)", ""])
        if extra_option and i % 9 == 0:
            work = "Online"
        acts = [a for a in ACTIVITY_OPTIONS if rng.random() < 0.45]
        ranks = [str(r) for r in rng.sample([1, 2, 3], 3)] if rng.random() < 0.8 else ["", "", ""]
        out.append(
            Respondent(
                volunteer=rng.choice(["Yes", "No"]),
                work="" if partial else work,
                work_other=rng.choice(PLACES) if work == "Other (please specify)" else "",
                activities=[] if partial else acts,
                activity_other="" if partial or rng.random() < 0.8 else rng.choice(PLACES),
                matrix=[
                    "" if partial else rng.choice([*AGREE, "Don't know", ""]) for _ in MATRIX_ITEMS
                ],
                ranks=["", "", ""] if partial else ranks,
                count="" if partial or rng.random() < 0.2 else str(rng.randint(3, 140)),
                help="" if partial or rng.random() < 0.3 else rng.choice(WISHES),
                age="" if partial else rng.choice(AGES),
                partial=partial,
            )
        )
    return out


def _meta(i: int) -> list[str]:
    return [
        str(114000000 + i),
        "4050001",
        f"01/{10 + i % 15}/2026 09:{i % 60:02d}:00 AM",
        f"01/{10 + i % 15}/2026 09:{i % 60:02d}:30 AM",
        f"10.0.0.{i % 250}",
        f"person{i}@example.org",
        f"Name{i}",
        f"Surname{i}",
        "",
    ]


def _answers(r: Respondent) -> list[str]:
    return [
        r.volunteer,
        r.work,
        r.work_other,
        *[a if a in r.activities else "" for a in ACTIVITY_OPTIONS],
        r.activity_other,
        *r.matrix,
        *r.ranks,
        r.count,
        r.help,
        r.age,
    ]


def _questions(*, drop_count: bool = False, new_column: bool = False) -> list[tuple[str, str]]:
    """(question text, row-2 sub-label) per answer column, in export order."""
    cols = [(VOLUNTEER, "Response"), (WORK, "Response"), (WORK, "Other (please specify)")]
    cols += [(ACTIVITIES, a) for a in ACTIVITY_OPTIONS] + [(ACTIVITIES, "Other (please specify)")]
    cols += [(MATRIX, item) for item in MATRIX_ITEMS] + [(RANK, item) for item in RANK_ITEMS]
    cols += [(COUNT, "Open-Ended Response"), (HELP, "Open-Ended Response"), (AGE, "Response")]
    if drop_count:
        cols = [c for c in cols if c[0] != COUNT]
    if new_column:
        cols.append(("Would you recommend volunteering?", "Response"))
    return cols


def write_surveymonkey(
    path: Path,
    n: int = 60,
    seed: int = 7,
    *,
    extra_option: bool = False,
    drop_count: bool = False,
    new_column: bool = False,
) -> Path:
    """Two header rows: question text on a question's first column only; cp1252 bytes."""
    qs = _questions(drop_count=drop_count, new_column=new_column)
    row1 = META + [q if k == 0 or qs[k - 1][0] != q else "" for k, (q, _) in enumerate(qs)]
    row2 = [""] * len(META) + [sub for _, sub in qs]
    rows = [row1, row2]
    for i, r in enumerate(respondents(n, seed, extra_option=extra_option)):
        answers = _answers(r)
        if drop_count:
            answers.pop(len(_questions()) - 3)
        if new_column:
            answers.append("" if r.partial else ["Yes", "No"][i % 2])
        rows.append(_meta(i) + answers)
    path.write_bytes(_csv(rows).encode("cp1252"))
    return path


def write_flattened(path: Path, n: int = 60, seed: int = 11) -> Path:
    """One header row, 'Question - Sub' headers; a multi-select whose 'Other (please specify)'
    option and its text box share one header (as in FiveThirtyEight's Thanksgiving file)."""
    header = ["RespondentID", VOLUNTEER, WORK, f"{WORK} - Other (please specify)"]
    header += [f"{ACTIVITIES} - {a}" for a in ACTIVITY_OPTIONS]
    header += [f"{ACTIVITIES} - Other (please specify)"] * 2
    header += [AGE]
    rows = [header]
    for i, r in enumerate(respondents(n, seed)):
        other_ticked = "Other (please specify)" if r.activity_other else ""
        rows.append(
            [str(4337000000 + i), r.volunteer, r.work, r.work_other]
            + [a if a in r.activities else "" for a in ACTIVITY_OPTIONS]
            + [other_ticked, r.activity_other, r.age]
        )
    path.write_text(_csv(rows), encoding="utf-8")
    return path


def write_qualtrics(path: Path, n: int = 40, seed: int = 13) -> Path:
    """Three header rows (ids, question text, ImportId JSON); answers are choice codes."""
    ids = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Finished", "ResponseId"]
    ids += ["RecipientEmail", "LocationLatitude", "Q1", "Q2_1", "Q2_2", "Q2_3", "Q3", "Q3_4_TEXT"]
    texts = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Finished"]
    texts += ["Response ID", "Recipient Email", "Location Latitude"]
    texts += [
        "How often do you meet?",
        "Which topics? - Health",
        "Which topics? - Jobs",
        "Which topics? - Housing",
        "Where did you hear about us?",
        "Where did you hear about us? - Other - Text",
    ]
    import_ids = [json.dumps({"ImportId": k}) for k in ids]
    rows = [ids, texts, import_ids]
    rng = random.Random(seed)
    for i in range(n):
        q3 = rng.choice(["1", "2", "3", "4", ""])
        rows.append(
            [f"2026-01-{1 + i % 28:02d} 10:00:00", f"2026-01-{1 + i % 28:02d} 10:05:00", "0"]
            + [f"192.168.0.{i}", "100", "1", f"R_{i:06d}abc", "", "51.5"]
            + [rng.choice(["1", "2", "3", ""])]
            + [rng.choice(["1", ""]) for _ in range(3)]
            + [q3, rng.choice(PLACES) if q3 == "4" else ""]
        )
    path.write_text(_csv(rows), encoding="utf-8")
    return path


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()
