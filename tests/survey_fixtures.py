"""Build small exports of the interactions survey in every supported layout, for tests.

A respondent is a dict of mapped answers: ``{"sector": "youth", "interacted_education": "yes",
"purposes_education": ["referral"], "postcode": "M1 1AE"}`` (multi-choice as a list of option codes;
other-text columns by their mapped name).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import Workbook

from pipeline.survey.questionnaire import Questionnaire, load_questionnaire

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


def spec() -> Questionnaire:
    return load_questionnaire("interactions_2025")


def youth(n: int = 0, **extra: object) -> dict[str, object]:
    """A minimal complete youth-route respondent (interacted with education only)."""
    r: dict[str, object] = {
        "sector": "youth",
        "org_type": "charity",
        "employees": "10_49",
        "postcode": "M1 1AE",
        "area": "urban",
        "role": "practitioner",
        "tenure": "over_5",
        "interacted_education": "yes",
        "interacted_social_care": "no",
        "interacted_health_care": "no",
        "interacted_youth_justice": "no",
        "interacted_youth_sector": "no",
        "interacted_other_sectors": "no",
        "purposes_education": ["regular_services", "referral"],
        "top3_education": ["referral"],
        "arrangement_education": "combination",
        "met_purposes_education": "agree",
        "format": ["email", "in_person"],
        "disadvantages": "none",
        "barriers": "no",
        "stopped": "no",
        "effective_practice_text": f"Regular meetings with the school (respondent {n}).",
    }
    r.update(extra)
    return r


def allied(n: int = 0, **extra: object) -> dict[str, object]:
    r: dict[str, object] = {
        "sector": "healthcare",
        "employees": "250_plus",
        "postcode": "LS1 4AP",
        "area": "urban",
        "role": "leader",
        "tenure": "1_3",
        "allied_interacted": "yes",
        "allied_frequency": "weekly",
        "allied_purposes": ["referral", "share_information"],
        "allied_top3": ["referral"],
        "allied_met_purposes": "agree",
        "allied_barriers": ["limited_resources"],
        "allied_practice_text": f"A named contact in each service ({n}).",
    }
    r.update(extra)
    return r


def partial(**extra: object) -> dict[str, object]:
    r: dict[str, object] = {
        "sector": "youth",
        "org_type": "charity",
        "postcode": "B1 1AA",
        "role": "leader",
    }
    r.update(extra)
    return r


def _cell(spec: Questionnaire, name: str, answers: dict[str, object]) -> str:
    col = next(c for c in spec.columns if c.name == name)
    if col.kind == "option":
        chosen = answers.get(col.instance.id) or []
        return col.option.label if col.option.code in chosen else ""  # type: ignore[union-attr, operator]
    value = answers.get(name)
    if value is None:
        return ""
    if col.kind == "value" and col.instance.options:
        return next(o.label for o in col.instance.options if o.code == value)
    return str(value)


def rows(
    respondents: list[dict[str, object]], *, start_id: int = 10000000001
) -> tuple[list[str], list[str], list[list[str]]]:
    s = spec()
    heads = s.surveymonkey_headers()
    row1 = META + [h[0] for h in heads]
    row2 = [""] * len(META) + [h[1] for h in heads]
    data = []
    for i, r in enumerate(respondents):
        meta = [
            str(r.get("_id", start_id + i)),
            str(r.get("_collector", "400000001")),
            f"01/{16 + i % 10:02d}/2025 09:{i % 60:02d}:00 AM",
            f"01/{16 + i % 10:02d}/2025 09:{i % 60:02d}:30 AM",
            f"192.0.2.{i % 250}",
            f"person{i}@example.org",
            r.get("_first", f"Alex{i}"),
            "Testperson",
            "",
        ]
        data.append([str(m) for m in meta] + [_cell(s, h[2], r) for h in heads])
    return row1, row2, data


def surveymonkey_csv(
    path: Path,
    respondents: list[dict[str, object]],
    *,
    encoding: str = "utf-8-sig",
    newline: str = "\r\n",
) -> Path:
    row1, row2, data = rows(respondents)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerows([row1, row2, *data])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def surveymonkey_xlsx(
    path: Path, respondents: list[dict[str, object]], extra_sheets: int = 0
) -> Path:
    row1, row2, data = rows(respondents)
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet"
    for r in [row1, row2, *data]:
        ws.append(r)
    for k in range(extra_sheets):
        wb.create_sheet(f"Notes{k}").append(["something"])
    wb.save(path)
    return path


def _plain_headers(s: Questionnaire) -> list[str]:
    out = []
    for _, sub, name in s.surveymonkey_headers():
        col = next(c for c in s.columns if c.name == name)
        plain_sub = "" if sub in ("Response", "Open-Ended Response") else sub
        out.append(f"{col.instance.text} - {plain_sub}" if plain_sub else col.instance.text)
    return out


def qualtrics_csv(
    path: Path, respondents: list[dict[str, object]], *, legacy_quotes: bool = False
) -> Path:
    """Three header rows: ids, question text ("Question - Option"), ImportId JSON."""
    s = spec()
    _, _, data = rows(respondents)
    texts = [
        "ResponseId",
        "Collector ID",
        "StartDate",
        "EndDate",
        "IPAddress",
        "RecipientEmail",
        "RecipientFirstName",
        "RecipientLastName",
        "Custom Data 1",
        *_plain_headers(s),
    ]
    ids = [f"QID{j}" for j in range(len(texts))]
    if legacy_quotes:
        imports = ["{'ImportId': '" + i + "'}" for i in ids]
    else:
        imports = [json.dumps({"ImportId": i}) for i in ids]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([ids, texts, imports, *data])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def plain_csv(
    path: Path, respondents: list[dict[str, object]], *, mapped_names: bool = False
) -> Path:
    s = spec()
    _, _, data = rows(respondents)
    names = [c.name for c in s.columns] if mapped_names else _plain_headers(s)
    header = [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
        *names,
    ]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *data])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path
