"""The synthetic JOQ reference data: reproducible, faithful to Annex G, and safe to evaluate on."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import yaml

from tools.reference import joq_generator as gen

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "data" / "reference"
JOQ = REF / "joq"
FRAMES = ROOT / "coding_frames" / "joq"
MONTHS = ["2025-01", "2025-12"]
CODE_FIELDS = {"id", "label", "definition", "theme", "include", "exclude", "exemplars", "version"}

# Figure G-1 (001 Annex G): share of the 237 respondents to the sector question ticking each
# option, whole per cent (G.3: "237 useable responses").
FIGURE_G1 = {
    "Housing including housing associations": 9,
    "Youth Justice e.g. police, probation and legal services": 15,
    "Healthcare including GPs, mental health services": 16,
    "Social care including children and social services": 20,
    "Education including schools, further education, PRUs": 39,
    "All of the above": 51,
}
EDUCATION = "Education including schools, further education, PRUs"
SOCIAL = "Social care including children and social services"
HEALTH = "Healthcare including GPs, mental health services"
JUSTICE = "Youth Justice e.g. police, probation and legal services"


def pct(n: int, base: int) -> int:
    """Whole-number percentage, rounded half up (as published)."""
    return int(100 * n / base + 0.5)


def frame(month: str) -> dict:
    return yaml.safe_load((FRAMES / f"{month}.yaml").read_text(encoding="utf-8"))


def export(month: str, folder: Path = JOQ) -> pl.DataFrame:
    """The month's export as strings, whichever format it was written in."""
    csv_path = folder / f"{month}_export.csv"
    if csv_path.exists():
        return pl.read_csv(csv_path, infer_schema=False)
    ws = openpyxl.load_workbook(folder / f"{month}_export.xlsx", read_only=True).active
    rows = [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
    return pl.DataFrame(rows[1:], schema=rows[0], orient="row")


def split(month: str) -> dict[str, str]:
    df = pl.read_csv(JOQ / f"{month}_split.csv", infer_schema=False)
    return dict(zip(df["response_id"], df["split"], strict=True))


def gold(month: str) -> pl.DataFrame:
    return pl.read_csv(JOQ / f"{month}_gold.csv", infer_schema=False)


def sector_sets(month: str = "2025-01") -> list[frozenset[str]]:
    """One set of ticked labels per respondent who answered the sector question."""
    return [frozenset(v.split("; ")) for v in export(month)["Which sector(s)?"] if v]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    gen.generate(out)
    return out


def test_regeneration_reproduces_committed_files(regenerated: Path) -> None:
    for path in sorted((regenerated / "joq").iterdir()):
        committed = JOQ / path.name
        if path.suffix == ".xlsx":
            month = path.name[:7]
            assert export(month, regenerated / "joq").equals(export(month))
        else:
            assert path.read_bytes() == committed.read_bytes(), path.name


def test_checksums_listed_for_every_generated_file(regenerated: Path) -> None:
    ours = (regenerated / gen.SHA_FILE).read_text(encoding="utf-8").splitlines()
    committed = set((REF / gen.SHA_FILE).read_text(encoding="utf-8").splitlines())
    assert len(ours) == 7
    assert set(ours) <= committed


def test_exports_are_marked_synthetic() -> None:
    for month in MONTHS:
        assert set(export(month)["Synthetic"]) == {gen.SYNTHETIC_MARK}
    assert "SYNTHETIC" in (JOQ / "README.md").read_text(encoding="utf-8")


def test_january_has_237_usable_answers_plus_5_non_answers_with_ids_and_window() -> None:
    df = export("2025-01")
    assert df.height == 242
    assert sum(not gen.is_non_answer(t) for t in df["Answer"]) == 237
    assert df["Response ID"].is_unique().all()
    assert all(re.fullmatch(r"JOQ2501-\d{4}", i) for i in df["Response ID"])
    assert df["Submitted"].min() >= "2025-02-03" and df["Submitted"].max() < "2025-02-22"
    dec = export("2025-12")
    assert "Which sector(s)?" not in dec.columns
    assert dec["Submitted"].min() >= "2025-12-10" and dec["Submitted"].max() < "2026-01-01"


def test_figure_g1_shares_are_reproduced_from_the_export() -> None:
    sets = sector_sets()
    assert len(sets) == 237
    ticks = Counter(label for s in sets for label in s)
    assert {label: pct(ticks[label], len(sets)) for label in FIGURE_G1} == FIGURE_G1
    assert all(len(s) == 1 for s in sets if "All of the above" in s)


def test_added_answers_keep_every_original_id_sample_and_gold_code() -> None:
    """Revision 2 appended five answers (ids 0238-0242, split `added`); the 232 original usable
    answers kept their ids, texts, gold codes and splits, so training and eval did not move."""
    s = split("2025-01")
    added = sorted(r for r, v in s.items() if v == "added")
    assert added == [f"JOQ2501-{k:04d}" for k in range(238, 243)]
    counts = Counter(s.values())
    assert counts == {"sample": 24, "exemplar": 12, "eval": 196, "added": 5}


def test_annex_g_co_selection_shares() -> None:
    """G.12: education with social care 8%; education with healthcare and youth justice 4%.

    Read as respondents whose selection is exactly that combination (see the doc: the "at least"
    reading cannot be met together with Figure G-1).
    """
    sets = sector_sets()
    assert pct(sets.count(frozenset({EDUCATION, SOCIAL})), len(sets)) == 8
    assert pct(sets.count(frozenset({EDUCATION, HEALTH, JUSTICE})), len(sets)) == 4
    assert pct(sum(s >= {EDUCATION, HEALTH, JUSTICE} for s in sets), len(sets)) == 4


@pytest.mark.parametrize("month", MONTHS)
def test_frames_load_with_the_agreed_fields(month: str) -> None:
    f = frame(month)
    assert f["month"] == month and f["status"] in {"draft", "reviewed"}
    assert {"version", "question", "sectors", "sample", "codes"} <= set(f)
    assert set(f["sample"]) == {"size", "seed", "stratify_by"}
    ids = [c["id"] for c in f["codes"]]
    assert len(ids) == len(set(ids)) and "other" in ids
    for c in f["codes"]:
        assert set(c) == CODE_FIELDS, c["id"]
        assert re.fullmatch(r"[a-z][a-z0-9_]*", c["id"])
        assert all(p == p.lower() for p in c["include"] + c["exclude"])
        assert c["id"] == "other" or 2 <= len(c["exemplars"]) <= 4, c["id"]


@pytest.mark.parametrize("month", MONTHS)
def test_frame_themes_exist_in_taxonomy(month: str) -> None:
    tax = yaml.safe_load((ROOT / "coding_frames" / "taxonomy.yaml").read_text(encoding="utf-8"))
    themes = {t["id"] for t in tax["themes"]}
    assert {c["theme"] for c in frame(month)["codes"]} <= themes


@pytest.mark.parametrize("month", MONTHS)
def test_gold_codes_exist_in_frame_and_cover_every_usable_answer(month: str) -> None:
    g = gold(month)
    assert set(g["code_id"]) <= {c["id"] for c in frame(month)["codes"]}
    answers = dict(zip(export(month)["Response ID"], export(month)["Answer"], strict=True))
    coded = set(g["response_id"])
    for rid, text in answers.items():
        assert (rid in coded) == (not gen.is_non_answer(text)), rid


@pytest.mark.parametrize("month", MONTHS)
def test_sample_equals_the_discovery_algorithm(month: str) -> None:
    f, s = frame(month), split(month)
    answers = dict(zip(export(month)["Response ID"], export(month)["Answer"], strict=True))
    usable = [rid for rid, text in answers.items() if not gen.is_non_answer(text)]
    assert sorted(s) == sorted(usable)
    original = [rid for rid in usable if s[rid] != "added"]  # drawn before answers were added
    sample = gen.draw_sample(original, f["sample"]["size"], f["sample"]["seed"])
    assert sorted(r for r, v in s.items() if v == "sample") == sample


@pytest.mark.parametrize("month", MONTHS)
def test_exemplars_come_from_training_split_with_exact_text(month: str) -> None:
    s = split(month)
    answers = dict(zip(export(month)["Response ID"], export(month)["Answer"], strict=True))
    g = gold(month)
    for c in frame(month)["codes"]:
        for e in c["exemplars"]:
            assert s[e["response_id"]] in {"sample", "exemplar"}, e["response_id"]
            assert answers[e["response_id"]] == e["text"]
            coded = g.filter(pl.col("response_id") == e["response_id"])["code_id"]
            assert c["id"] in coded.to_list()


@pytest.mark.parametrize("month", MONTHS)
def test_include_phrases_come_from_training_answers_or_the_definition(month: str) -> None:
    """Phrases were drafted from sample + exemplar answers only, never from eval answers."""
    s = split(month)
    answers = dict(zip(export(month)["Response ID"], export(month)["Answer"], strict=True))
    training = " ".join(answers[r] for r, v in s.items() if v in {"sample", "exemplar"}).lower()
    for c in frame(month)["codes"]:
        own = f"{c['label']} {c['definition']} {training}".lower()
        for phrase in c["include"]:
            variants = {
                phrase,
                phrase.replace("-", " "),
                phrase.replace(" ", "-"),
                phrase.replace("'", ""),
            }
            assert any(v in own for v in variants), (c["id"], phrase)


def test_january_eval_split_is_large_enough() -> None:
    counts = Counter(split("2025-01").values())
    assert counts["sample"] == 24 and counts["eval"] >= 180
