"""Issue 5 reliability requirements, JOQ side, on a small generated month with the hashing
embedder (no model): small-group quote warnings (#16), redacted quotes that honour exclude_quote
(#13), reproducible outputs (#17), provenance (#18), human decisions never dropped (#8) and
formula injection neutralised in CSV/XLSX (#9/#10). Mapped in docs/reliability.md."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import yaml

from pipeline.core.embed import HashingEmbedder
from pipeline.core.manifest import PACKAGES
from pipeline.joq import flow, publish, report, store
from tests.joq_sheets import edit_sheet

MONTH = "2025-03"
HOSTILE = '=HYPERLINK("http://x","y")'
TAXONOMY = {
    "version": 1,
    "themes": [
        {"id": "communication", "label": "Communication", "description": "talking", "sources": []},
        {"id": "funding_resources", "label": "Funding", "description": "money", "sources": []},
        {"id": "other", "label": "Other", "description": "", "sources": []},
    ],
}


def code(cid: str, label: str, theme: str, include: list[str]) -> dict:
    return {
        "id": cid,
        "label": label,
        "definition": f"{label.lower()} answers",
        "theme": theme,
        "include": include,
        "exclude": [],
        "exemplars": [],
    }


def frame(label_of_money: str = "Funding") -> dict:
    return {
        "month": MONTH,
        "version": 3,
        "status": "reviewed",
        "question": "One change?",
        "sectors": [
            {"code": "education", "label": "Education"},
            {"code": "housing", "label": "Housing"},
            {"code": "all", "label": "All of the above"},
        ],
        "sample": {"size": 6, "seed": 29, "stratify_by": None},
        "codes": [
            code("talk", "Talk more", "communication", ["talk"]),
            code("money", label_of_money, "funding_resources", ["funding"]),
            code("tenancy", "Tenancy support", "funding_resources", ["tenancy"]),
            code("contact", "Contact details", "communication", ["contact"]),
            code("mentor", "Mentoring", "communication", ["mentor"]),
            code("rota", "Shared rota", "communication", ["rota"]),
            {"id": "other", "label": "Other", "definition": "", "theme": "other"},
        ],
    }


# (answer, sectors, region). Education/North are big groups; Housing (3 respondents) and the
# Orkney region (2) are small, and only they mention "tenancy", so their answers are quoted.
ROWS = (
    [
        (f"Schools and youth workers should talk more, week {i}", "Education", "North")
        for i in range(12)
    ]
    + [(f"Long term funding for youth clubs, year {i}", "Education", "North") for i in range(10)]
    + [
        ("Tenancy support for care leavers", "Housing", "North"),
        ("Tenancy workers and youth workers together", "Housing; Education", "North"),
        ("Help with tenancy paperwork", "Housing", "North"),
        ("Tenancy advice in rural areas", "Education", "Orkney"),
        ("Tenancy help on the islands too", "Education", "Orkney"),
    ]
    + [
        ("Contact me at jo.bloggs@example.org please", "Education", "North"),
        ("Contact the team on 07700 900123 any time", "Education", "North"),
        ("Contact point at our base, NE1 4ST, would help", "Education", "North"),
        ("Priya should mentor more young people", "Education", "North"),
        ("More mentor schemes", "Education", "North"),
        ("A shared rota with SECRET-EXCLUDED-WORDS", "Education", "North"),
        ("A shared rota across services", "Education", "North"),
        ("n/a", "Education", "North"),
    ]
)
EXCLUDED_TEXT = "SECRET-EXCLUDED-WORDS"
PII = ("jo.bloggs@example.org", "07700 900123", "NE1 4ST", "Priya")


def write_export(path: Path, rows) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Response ID", "Submitted", "Sector", "Answer", "Region"])
    for i, (text, sectors, region) in enumerate(rows, start=1):
        w.writerow([f"R{i:02d}", "2025-04-01", sectors, text, region])
    path.write_text(buf.getvalue(), encoding="utf-8")


def new_month(root: Path, rows=ROWS, frame_doc: dict | None = None) -> flow.Session:
    (root / "frames" / "joq").mkdir(parents=True)
    (root / "frames" / "joq" / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
    (root / "frames" / "joq" / f"{MONTH}.yaml").write_text(yaml.safe_dump(frame_doc or frame()))
    write_export(root / "export.csv", rows)
    s = flow.Session(
        store.connect(root / "db.duckdb"), HashingEmbedder(), root / "out", root / "frames" / "joq"
    )
    flow.run_import(s, root / "export.csv", MONTH)
    return s


def rid_of(text: str, rows=ROWS) -> str:
    return f"R{[r[0] for r in rows].index(text) + 1:02d}"


def edit_review(path: Path, edits: dict[str, dict[str, str]]) -> None:
    edit_sheet(path, edits)


def full_run(s: flow.Session, names=("Priya",)) -> Path:
    """import (done) -> code -> review sheet -> reviewer excludes one quote -> code -> report."""
    flow.run_code(s, MONTH)
    path = flow.run_review_write(s, MONTH)
    edit_review(
        path, {rid_of("A shared rota with SECRET-EXCLUDED-WORDS"): {"exclude_quote": "yes"}}
    )
    assert flow.run_review_apply(s, MONTH, path, "AB").stored == 1
    flow.run_code(s, MONTH)
    flow.run_review_write(s, MONTH)
    return publish.write_month_report(s, MONTH, list(names)).parent


@pytest.fixture
def epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1740000000")


def test_quote_from_a_group_under_10_respondents_carries_a_warning(tmp_path, epoch):
    s = new_month(tmp_path)
    out = full_run(s)
    ctx, _, _ = publish.month_context(s, MONTH, ["Priya"])
    quotes = [q for c in ctx["codes"] for q in c["quotes"]]
    by_id = {
        r: (sec, reg)
        for r, sec, reg in store.responses(s.con, MONTH, usable_only=True)
        .select("response_id", "sectors", "region")
        .iter_rows()
    }
    sec_n, reg_n = report.group_sizes(store.responses(s.con, MONTH, usable_only=True))
    assert sec_n["housing"] == 3 and reg_n["Orkney"] == 2 and sec_n["education"] >= 10
    warned = set()
    for q in quotes:
        sectors, region = by_id[q.response_id]
        small = any(sec_n[x] < 10 for x in sectors) or reg_n.get(region, 0) < 10
        assert bool(q.warning) == small, q
        if small:
            warned.add(q.response_id)
            assert "fewer than 10 respondents" in q.warning
    tenancy = {q.response_id: q.warning for q in quotes if q.code_id == "tenancy"}
    assert tenancy, "the small-group answers should be quoted"
    assert all("Housing" in w or "region Orkney" in w for w in tenancy.values())
    assert any("region Orkney" in w for w in tenancy.values())
    assert any("Housing" in w for w in tenancy.values())
    # an answer from the big groups only is quoted without a warning
    assert any(not q.warning for q in quotes if q.code_id == "talk")
    html, md = (out / "report.html").read_text(), (out / "report.md").read_text()
    assert "Check before quoting: fewer than 10 respondents in: Housing" in html
    assert "Check before quoting: fewer than 10 respondents in: region Orkney" in html
    assert "_Check before quoting: fewer than 10 respondents in:" in md
    assert warned


def test_report_quotes_are_redacted_and_excluded_quotes_never_appear(tmp_path, epoch):
    s = new_month(tmp_path)
    out = full_run(s, names=("Priya",))
    ctx, _, _ = publish.month_context(s, MONTH, ["Priya"])
    quoted = {q.response_id: q.text for c in ctx["codes"] for q in c["quotes"]}
    # every PII answer is quoted (its code has <= 3 members) and comes out redacted
    for text in (
        "Contact me at jo.bloggs@example.org please",
        "Contact the team on 07700 900123 any time",
        "Contact point at our base, NE1 4ST, would help",
        "Priya should mentor more young people",
    ):
        assert rid_of(text) in quoted and quoted[rid_of(text)] != text
    files = [
        out / "report.html",
        out / "report.md",
        *sorted((out / "tables").glob("*.csv")),
        out / "manifest.json",
    ]
    for f in files:
        body = f.read_text()
        for raw in PII:
            assert raw not in body, (raw, f.name)
        assert EXCLUDED_TEXT not in body, f.name
    md = (out / "report.md").read_text()
    for placeholder in ("[email]", "[phone]", "[postcode]", "[name] should mentor"):
        assert placeholder in md, placeholder
    html = (out / "report.html").read_text()
    assert "A shared rota across services" in html  # the not-excluded sibling is still quoted
    assert rid_of("A shared rota with SECRET-EXCLUDED-WORDS") not in quoted
    # the exclusion survives a re-code and a re-render
    flow.run_code(s, MONTH)
    publish.write_month_report(s, MONTH, ["Priya"])
    assert EXCLUDED_TEXT not in (out / "report.html").read_text()
    assert EXCLUDED_TEXT not in (out / "report.md").read_text()


def xlsx_values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [tuple(c.value for c in r) for r in ws.iter_rows()] for ws in wb}


def test_two_month_report_runs_give_identical_bytes_and_xlsx_cell_values(tmp_path, epoch):
    outs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        outs.append(full_run(new_month(tmp_path / name)))
    a, b = outs
    text_files = sorted(
        p.relative_to(a) for p in a.rglob("*") if p.suffix in (".csv", ".md", ".html", ".json")
    )
    assert {
        Path("report.html"),
        Path("report.md"),
        Path("manifest.json"),
        Path("tables/joq-codes.csv"),
        Path("tables/figure-G-1.csv"),
        Path("machine_codes.csv"),
        Path("other_review.csv"),
    } <= set(text_files)
    assert text_files == sorted(
        p.relative_to(b) for p in b.rglob("*") if p.suffix in (".csv", ".md", ".html", ".json")
    )
    for rel in text_files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert xlsx_values(a / "review.xlsx") == xlsx_values(b / "review.xlsx")
    # and a re-render over the same database changes nothing
    before = {rel: (a / rel).read_bytes() for rel in text_files}
    publish.write_month_report(
        flow.Session(
            store.connect(tmp_path / "a" / "db.duckdb"),
            HashingEmbedder(),
            tmp_path / "a" / "out",
            tmp_path / "a" / "frames" / "joq",
        ),
        MONTH,
        ["Priya"],
    )
    assert {rel: (a / rel).read_bytes() for rel in text_files} == before


class WeightedHashing(HashingEmbedder):
    """The hashing embedder posing as a real model whose id carries a weights hash."""

    def __init__(self) -> None:
        super().__init__()
        self.model_id = "all-MiniLM-L6-v2@sha256:0123456789abcdef"


def test_month_report_records_input_frame_model_seeds_packages_and_commit(tmp_path, epoch):
    s = new_month(tmp_path)
    s.embedder = WeightedHashing()
    out = full_run(s)
    m = json.loads((out / "manifest.json").read_text())
    export_sha = hashlib.sha256((tmp_path / "export.csv").read_bytes()).hexdigest()
    frame_sha = hashlib.sha256(
        (tmp_path / "frames" / "joq" / f"{MONTH}.yaml").read_bytes()
    ).hexdigest()
    assert m["input"] == {
        "file": "export.csv",
        "sha256": export_sha,
        "rows": len(ROWS),
        "synthetic": False,
    }
    assert m["frame"] == {"version": 3, "status": "reviewed", "sha256": frame_sha}
    assert m["model"] == {
        "id": "all-MiniLM-L6-v2@sha256:0123456789abcdef",
        "weights_sha256": "0123456789abcdef",
    }
    assert m["seeds"] == {"fewshot_random_state": 29, "other_grouping": 29, "sample": 29}
    assert m["run_id"] and m["thresholds"]["accept"] == pytest.approx(0.65)
    assert set(m["packages"]) == set(PACKAGES) and m["packages"]["polars"] == pl.__version__
    assert m["git_commit"] and m["generated_at"] == "2025-02-19T21:20:00Z"
    assert m["redaction_names"] == 1 and "Priya" not in json.dumps(m)
    # the same facts are in the report a reader sees
    html = (out / "report.html").read_text()
    for fact in (export_sha, "version 3", m["model"]["id"], m["run_id"], "fewshot_random_state=29"):
        assert fact in html, fact
    # the hashing embedder has no weights, and the manifest says so
    s2 = new_month(tmp_path / "h")
    m2 = json.loads((full_run(s2) / "manifest.json").read_text())
    assert (
        m2["model"]["id"].startswith("hashing-") and "no weights" in m2["model"]["weights_sha256"]
    )


def test_reimport_recode_and_second_review_never_drop_a_human_decision(tmp_path, epoch):
    s = new_month(tmp_path)
    coded = "Long term funding for youth clubs, year 3"
    flow.run_code(s, MONTH)
    path = flow.run_review_write(s, MONTH)
    edit_review(
        path,
        {
            rid_of(coded): {"code_1": "talk", "code_2": "money"},
            rid_of("More mentor schemes"): {"exclude_quote": "yes"},
        },
    )
    assert flow.run_review_apply(s, MONTH, path, "AB").stored == 2

    def state():
        d = store.latest_decisions(s.con, MONTH)
        f = store.final_codes(s.con, MONTH)
        return (
            sorted(f.filter(pl.col("response_id") == rid_of(coded))["code_id"].to_list()),
            d.filter(pl.col("response_id") == rid_of("More mentor schemes"))["exclude_quote"][0],
        )

    assert state() == (["money", "talk"], True)
    flow.run_code(s, MONTH)
    assert state() == (["money", "talk"], True)
    # a fresh sheet returned untouched records nothing and erases nothing
    fresh = flow.run_review_write(s, MONTH)
    assert flow.run_review_apply(s, MONTH, fresh, "CD").stored == 0
    assert state() == (["money", "talk"], True)
    # a second reviewer only ticks exclude_quote on the coded answer: its codes stay
    edit_review(fresh, {rid_of(coded): {"exclude_quote": "yes"}})
    assert flow.run_review_apply(s, MONTH, fresh, "CD").stored == 1
    assert state()[0] == ["money", "talk"]
    # replacing the export (one answer added) keeps every decision, through a re-code
    write_export(tmp_path / "export.csv", [*ROWS, ("Talk to housing teams", "Housing", "North")])
    assert flow.run_import(s, tmp_path / "export.csv", MONTH, replace=True).status == "replaced"
    flow.run_code(s, MONTH)
    assert state() == (["money", "talk"], True)
    assert (
        store.latest_decisions(s.con, MONTH).filter(pl.col("response_id") == rid_of(coded))[
            "exclude_quote"
        ][0]
        is True
    )


def test_formula_in_answers_and_labels_is_text_in_review_xlsx_and_tables_csv(tmp_path, epoch):
    rows = [*ROWS, (HOSTILE + " funding", "Education", "North"), (HOSTILE, "Education", "North")]
    s = new_month(tmp_path, rows, frame(label_of_money=HOSTILE))
    flow.run_code(s, MONTH)
    out = publish.write_month_report(s, MONTH).parent
    xlsx = flow.run_review_write(s, MONTH)
    wb = openpyxl.load_workbook(xlsx)
    cells = [c for ws in wb for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    hostile = [c for c in cells if "HYPERLINK" in c.value]
    assert len(hostile) >= 3  # two answers in 'review', the label in 'codes'
    for c in hostile:
        assert c.data_type == "s" and c.value.startswith("'="), c.value
    assert not any(c.value.startswith("=") for c in cells)
    # the sheet still reads back: the apostrophe is undone, never a formula
    assert flow.run_review_apply(s, MONTH, xlsx, "AB").stored == 0
    csvs = sorted(out.rglob("*.csv"))
    seen = 0
    for f in csvs:
        for row in csv.reader(io.StringIO(f.read_text(encoding="utf-8"))):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (f.name, cell)
                seen += cell.startswith("'=HYPERLINK")
    assert seen >= 2  # joq-codes and joq-codes-by-sector rows
    assert (out / "tables" / "joq-codes.csv").read_text().count("'=HYPERLINK") == 1
