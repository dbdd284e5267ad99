"""The synthetic reference export: byte-identical regeneration, SurveyMonkey layout, the cleaning
funnel of paras 2.25-2.26 and Table F-1, read straight from the raw CSV with a tiny reader here
(not the pipeline, and not the generator's own checker)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
import yaml

from pipeline.core.paths import REFERENCE_DATA, ROOT
from pipeline.survey.questionnaire import load_questionnaire
from tools.reference.survey_generator import DEFAULT_SEED, METADATA, generate

CSV = REFERENCE_DATA / "interactions_2025_export.csv"
XLSX = REFERENCE_DATA / "interactions_2025_export.xlsx"


@pytest.fixture(scope="module")
def spec():
    return load_questionnaire("interactions_2025")


@pytest.fixture(scope="module")
def rows() -> list[list[str]]:
    with CSV.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    generate(DEFAULT_SEED, tmp_path)
    assert (tmp_path / CSV.name).read_bytes() == CSV.read_bytes()
    assert (tmp_path / XLSX.name).read_bytes() == XLSX.read_bytes()


def test_checksums_are_listed() -> None:
    import hashlib

    listing = (REFERENCE_DATA / "SYNTHETIC.sha256").read_text(encoding="utf-8")
    for path in (CSV, XLSX):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"{digest}  {path.relative_to(ROOT)}" in listing


def test_file_is_utf8_bom_crlf_like_surveymonkey() -> None:
    raw = CSV.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") >= 322 and b"\n" not in raw.replace(b"\r\n", b"")[:1000]


def test_two_header_rows_match_the_spec(rows, spec) -> None:
    heads = spec.surveymonkey_headers()
    assert rows[0] == METADATA + [h[0] for h in heads]
    assert rows[1] == [""] * len(METADATA) + [h[1] for h in heads]


def test_320_data_rows(rows) -> None:
    assert len(rows) - 2 == 320


def _funnel(rows: list[list[str]], spec) -> dict[str, object]:
    """Independent cleaning: drop identical answers from one collector (keep the earliest id),
    then rows with nothing beyond the background block; recode 'Other' by recodes.yaml."""
    names = [c.name for c in spec.columns]
    data = [dict(zip(METADATA + names, r, strict=True)) for r in rows[2:]]
    background = set(spec.block_columns("background"))
    seen, kept, dupes, partial = set(), [], 0, 0
    for row in sorted(data, key=lambda r: int(r["Respondent ID"])):
        key = (row["Collector ID"], *(row[n] for n in names))
        if key in seen:
            dupes += 1
            continue
        seen.add(key)
        if not any(row[n] for n in names if n not in background):
            partial += 1
            continue
        kept.append(row)
    labels = {o.label: o.code for o in spec.options(spec.question("sector"))}
    entries = yaml.safe_load((spec.directory / "recodes.yaml").read_text(encoding="utf-8"))[
        "entries"
    ]
    table = {e["text"]: e["category"] for e in entries}
    sectors = Counter()
    other = 0
    for row in kept:
        code = labels[row["sector"]]
        if code == "other":
            other += 1
            code = table.get(row["sector__other_text"], "other")
        sectors[code] += 1
    return {"dupes": dupes, "partial": partial, "usable": len(kept), "other": other, "f1": sectors}


def test_funnel_of_paras_2_25_and_2_26(rows, spec) -> None:
    f = _funnel(rows, spec)
    assert (f["dupes"], f["partial"], f["usable"], f["other"]) == (1, 23, 296, 27)


def test_table_f1_after_recoding(rows, spec) -> None:
    f1 = _funnel(rows, spec)["f1"]
    assert dict(f1) == {"youth": 252, "education": 8, "social_care": 1, "healthcare": 10,
                        "youth_justice": 5, "housing": 2, "other": 18}  # fmt: skip


def test_recodes_have_reviewed_and_unreviewed_others(rows, spec) -> None:
    entries = yaml.safe_load((spec.directory / "recodes.yaml").read_text(encoding="utf-8"))[
        "entries"
    ]
    assert sum(e["category"] != "other" for e in entries) == 9
    assert all(e["category"] != "youth" for e in entries)
    texts = {e["text"] for e in entries}
    others = [r[len(METADATA) + 1] for r in rows[2:] if r[len(METADATA)].startswith("Other")]
    assert 0 < sum(t not in texts for t in others) < 9


def test_partials_answer_background_only_and_identifying_columns_are_fake(rows, spec) -> None:
    text = CSV.read_text(encoding="utf-8-sig")
    assert '=HYPERLINK("http://example.com"' in text.replace('""', '"') and "<script>" in text
    for r in rows[2:]:
        ip, email = r[4], r[5]
        assert ip.startswith(("192.0.2.", "198.51.100.", "203.0.113."))
        assert not email or email.endswith(("@example.org", "@example.com", "@example.net"))
        assert len(r[0]) == 11 and r[0].isdigit() and len(r[1]) == 9


def test_independent_check_reproduces_all_but_the_reconciled_values() -> None:
    from tools.reference.survey_check import check

    results = check(CSV)
    misses = {(v.figure_id, v.row) for v, _, ok in results if not ok}
    assert misses <= {("table-F-2", "charity"), ("text-3.21", "yes"), ("text-5.15", "combination"),
                      ("figure-5-3", "sharing_resources")}  # fmt: skip
