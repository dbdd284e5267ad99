"""Write a survey as Qualtrics exports it: three header rows (ids, question text, ImportId JSON),
Qualtrics' standard metadata columns, "- Selected Choice" and "- <option> - Text" sub-columns,
multiple answers as one comma-separated column, and either choice text or numeric recode values
("Use numeric values", recode value = the option's position)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.survey.questionnaire import QuestionInstance, Questionnaire

# (id row, text row, ImportId) of the columns Qualtrics writes before the questions.
METADATA = [
    ("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"Europe/London"}'),
    ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"Europe/London"}'),
    ("Status", "Response Type", '{"ImportId":"status"}'),
    ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
    ("Progress", "Progress", '{"ImportId":"progress"}'),
    ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
    ("Finished", "Finished", '{"ImportId":"finished"}'),
    ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate","timeZone":"Europe/London"}'),
    ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
    ("RecipientLastName", "Recipient Last Name", '{"ImportId":"recipientLastName"}'),
    ("RecipientFirstName", "Recipient First Name", '{"ImportId":"recipientFirstName"}'),
    ("RecipientEmail", "Recipient Email", '{"ImportId":"recipientEmail"}'),
    ("ExternalReference", "External Data Reference", '{"ImportId":"externalDataReference"}'),
    ("LocationLatitude", "Location Latitude", '{"ImportId":"locationLatitude"}'),
    ("LocationLongitude", "Location Longitude", '{"ImportId":"locationLongitude"}'),
    ("DistributionChannel", "Distribution Channel", '{"ImportId":"distributionChannel"}'),
    ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}'),
]


def _columns(inst: QuestionInstance, n: int) -> list[tuple[str, str, str, str]]:
    """(id, text, ImportId, kind) for one question instance, as Qualtrics names them."""
    qid = f"QID{n}"
    has_text = inst.question.other_text or any(o.other_text for o in inst.options)
    if inst.question.type in ("text", "postcode", "number"):
        return [(f"Q{n}", inst.text, json.dumps({"ImportId": f"{qid}_TEXT"}), "value")]
    choice = f"{inst.text} - Selected Choice" if has_text else inst.text
    out = [(f"Q{n}", choice, json.dumps({"ImportId": qid}), "choice")]
    for k, o in enumerate(inst.options, start=1):
        if o.other_text:
            text = f"{inst.text} - {o.label} - Text"
            out.append(
                (f"Q{n}_{k}_TEXT", text, json.dumps({"ImportId": f"{qid}_{k}_TEXT"}), "text")
            )
    if inst.question.other_text:  # a specify box of its own: Qualtrics' "Other" choice with text
        k = len(inst.options) + 1
        text = f"{inst.text} - Other (please specify) - Text"
        out.append((f"Q{n}_{k}_TEXT", text, json.dumps({"ImportId": f"{qid}_{k}_TEXT"}), "text"))
    return out


def _value(inst: QuestionInstance, kind: str, answers: dict[str, object], numeric: bool) -> str:
    def show(code: str) -> str:
        k, o = next((k, o) for k, o in enumerate(inst.options, start=1) if o.code == code)
        return str(k) if numeric else o.label

    if kind == "text":
        return str(answers.get(f"{inst.id}__other_text") or "")
    value = answers.get(inst.id)
    if value is None or value == []:
        return ""
    if kind == "value":
        return str(value)
    if inst.question.type == "multi":
        order = [o.code for o in inst.options]
        return ",".join(show(c) for c in sorted(value, key=order.index))  # type: ignore[arg-type]
    return show(str(value))


def qualtrics_export(
    path: Path,
    spec: Questionnaire,
    respondents: list[dict[str, object]],
    *,
    numeric: bool = False,
    statuses: dict[int, str] | None = None,
) -> Path:
    cols = [(*c, inst) for n, inst in enumerate(spec.instances, start=1) for c in _columns(inst, n)]
    ids = [m[0] for m in METADATA] + [c[0] for c in cols]
    texts = [m[1] for m in METADATA] + [c[1] for c in cols]
    imports = [m[2] for m in METADATA] + [c[2] for c in cols]
    start = datetime(2026, 3, 2, 9, 0, 0)
    rows = []
    for i, r in enumerate(respondents):
        t = start + timedelta(minutes=11 * i)
        stamp = t.strftime("%Y-%m-%d %H:%M:%S")
        meta = [
            stamp,
            (t + timedelta(seconds=300)).strftime("%Y-%m-%d %H:%M:%S"),
            (statuses or {}).get(i, "IP Address"),
            f"203.0.113.{i % 250}",
            "100",
            "300",
            "True",
            stamp,
            f"R_{i:04d}qualtricsXYZ",
            "Jones",
            "Sam",
            f"sam{i}@example.org",
            "",
            "51.5072",
            "-0.1276",
            "anonymous",
            "EN-GB",
        ]
        rows.append(meta + [_value(c[4], c[3], r, numeric) for c in cols])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([ids, texts, imports, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    return path
