"""Issue 14's done-when: a second wave with a reworded question, an added option, new "Other"
texts, cp1252, CRLF, partials and a duplicate runs end to end once the analyst edits the spec, its
tables match a plain pandas computation written here, and its report is about the data (the
published-figures check is an appendix, only when asked)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
import yaml
from second_wave import NEW_FORMAT, NEW_SECTOR, second_wave_spec, write_second_wave
from typer.testing import CliRunner

import pipeline.core.embed as embed
from cli import app
from pipeline.core.paths import REFERENCE_DATA
from pipeline.survey.clean import RecodeEntry, RecodeTable, clean, load_recodes
from pipeline.survey.flow import embedding_suggester, prepare, run_survey
from pipeline.survey.questionnaire import load_questionnaire

SEED = 20260302


@pytest.fixture(scope="module")
def wave(tmp_path_factory):
    root = tmp_path_factory.mktemp("wave2")
    spec = second_wave_spec(root / "spec")
    w = write_second_wave(root / "wave2.csv", spec, seed=SEED)
    out = run_survey(w.path, spec.path, root / "out", suggest=False)
    return w, spec, out


# -- a plain pandas reading of the file, independent of the pipeline ---------------------------


def _pandas_tables(path: Path, spec_dir: Path) -> dict[str, object]:
    raw = pd.read_csv(path, encoding="cp1252", header=None, dtype=str, keep_default_na=False)
    q = raw.iloc[0].replace("", np.nan).ffill().fillna("")
    sub = raw.iloc[1]
    body = raw.iloc[2:].reset_index(drop=True)
    spec = yaml.safe_load((spec_dir / "questionnaire.yaml").read_text(encoding="utf-8"))
    questions = {x["id"]: x for x in spec["questions"]}
    background = {x["text"] for x in spec["questions"] if x["block"] == "background"}
    background.add(NEW_SECTOR)
    first_after = next(j for j in range(9, raw.shape[1]) if q[j] not in background)
    answered_after = (body.iloc[:, first_after:].apply(lambda c: c.str.strip() != "")).any(axis=1)
    body = body.assign(_start=pd.to_datetime(body[2], format="%m/%d/%Y %I:%M:%S %p"))
    dup = body.sort_values("_start", kind="stable").duplicated(subset=[0], keep="first")
    dup = dup.reindex(body.index)
    partial = ~answered_after & ~dup
    usable = body[~dup & ~partial]
    sector_col = next(j for j in range(raw.shape[1]) if q[j] == NEW_SECTOR and sub[j] == "Response")
    other_col = next(
        j for j in range(raw.shape[1]) if q[j] == NEW_SECTOR and sub[j] == "Other (please specify)"
    )
    code_of = {o["label"]: o["code"] for o in questions["sector"]["options"]}
    sector = usable[sector_col].map(code_of)
    recodes = yaml.safe_load((spec_dir / "recodes.yaml").read_text(encoding="utf-8"))
    table = {e["text"].strip(): e["category"] for e in recodes["entries"]}
    other_text = usable[other_col].str.strip()
    recoded = sector.where(sector != "other", other_text.map(table).fillna("other"))
    youth = usable[recoded == "youth"]
    fmt_text = questions["format"]["text"]
    fmt_cols = {
        o["code"]: next(j for j in range(raw.shape[1]) if q[j] == fmt_text and sub[j] == o["label"])
        for o in questions["format"]["options"]
    }
    ticked = pd.DataFrame({c: youth[j].str.strip() != "" for c, j in fmt_cols.items()})
    answered = ticked[ticked.any(axis=1)]
    return {
        "raw": len(body),
        "removed_duplicate": int(dup.sum()),
        "removed_partial": int(partial.sum()),
        "usable": len(usable),
        "other_sector": int((sector == "other").sum()),
        "other_recoded": int(((sector == "other") & (recoded != "other")).sum()),
        "route_youth": len(youth),
        "sector_n": recoded.value_counts().to_dict(),
        "format_n": ticked.loc[answered.index].sum().to_dict(),
        "format_base": len(answered),
    }


def test_second_wave_runs_end_to_end_and_matches_plain_pandas(wave):
    w, spec, out = wave
    expected = _pandas_tables(w.path, spec.directory)
    funnel = dict(pl.read_csv(out / "funnel.csv").iter_rows())
    for step in ("raw", "removed_duplicate", "removed_partial", "usable", "other_sector"):
        assert funnel[step] == expected[step], step
    assert funnel["other_recoded"] == expected["other_recoded"]
    assert funnel["route_youth"] == expected["route_youth"]
    assert funnel["raw"] == w.rows and funnel["removed_duplicate"] == w.duplicates
    assert funnel["removed_partial"] == w.partials

    f1 = pl.read_csv(out / "tables" / "table-F-1.csv")
    ours = {r: n for r, n in zip(f1["row"], f1["n"], strict=True) if n}
    assert ours == expected["sector_n"]
    assert set(f1["base"]) == {expected["usable"]}

    f51 = pl.read_csv(out / "tables" / "figure-5-1.csv")
    got = {
        r: (n, base, pct) for r, n, base, pct in f51.select("row", "n", "base", "pct").iter_rows()
    }
    assert NEW_FORMAT["code"] in got and expected["format_n"][NEW_FORMAT["code"]] > 0
    for code, n in expected["format_n"].items():
        assert got[code][0] == n and got[code][1] == expected["format_base"]
        assert got[code][2] == pytest.approx(100 * n / expected["format_base"])


def test_the_same_wave_as_xlsx_gives_the_same_tables(wave, tmp_path):
    _, spec, out = wave
    x = write_second_wave(tmp_path / "wave2.xlsx", spec, seed=SEED)
    out_x = run_survey(x.path, spec.path, tmp_path / "out", suggest=False)
    assert (out_x / "funnel.csv").read_bytes() == (out / "funnel.csv").read_bytes()
    for name in ("table-F-1.csv", "figure-5-1.csv"):
        assert (out_x / "tables" / name).read_bytes() == (out / "tables" / name).read_bytes()


def test_second_wave_report_has_no_published_check_and_names_unreviewed_texts(wave):
    _, _, out = wave
    assert not (out / "published_check.csv").exists()
    html = (out / "report.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    for text in (html, md):
        assert "published figures check" not in text.lower()
        assert "not yet reviewed" in text
        assert "DWP work coach" in text and "Youth Offending Team" in text
    assert "differs from reviewed &#39;youth offending team&#39; only in case" in html or (
        "differs from reviewed 'youth offending team' only in case" in html
    )
    assert "![x](" not in md and "&#39;" not in md and "&#123;" not in md and "<b>" not in md
    assert "it's" in md  # Markdown needs no HTML entities
    review = pl.read_csv(out / "working" / "other_review.csv")
    trimmed = review.filter(pl.col("text").str.strip_chars() == "DWP work coach")
    assert trimmed.height >= 2 and set(trimmed["status"]) == {"unreviewed"}


def test_without_the_spec_edits_the_second_wave_stops_with_the_fix(tmp_path):
    spec = second_wave_spec(tmp_path / "spec")
    w = write_second_wave(tmp_path / "wave2.csv", spec, seed=SEED)
    result = CliRunner().invoke(app, ["survey", "run", str(w.path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    err = " ".join(result.output.split())
    assert "'work in' became 'mainly work in'" in err or "'mainly' added" in err
    assert "add the new wording to that question's aliases" in err
    assert "is an option that question 'format' does not list" in err
    assert "add it to the options of question 'format'" in err
    assert not (tmp_path / "o" / "interactions_2025").exists()


def test_old_waves_still_run_with_the_added_option(tmp_path):
    spec = second_wave_spec(tmp_path / "spec")
    p = prepare(REFERENCE_DATA / "interactions_2025_export.csv", spec.path, suggest=False)
    assert p.cleaned.funnel.filter(pl.col("step") == "usable")["count"].item() == 296
    assert any(
        "online_platform" not in n and "added in a later wave" in n for n in p.ingested.notes
    )
    assert p.ingested.frame[f"format__{NEW_FORMAT['code']}"].fill_null(False).sum() == 0


def test_check_published_is_an_appendix_only_when_asked(tmp_path):
    out = run_survey(
        REFERENCE_DATA / "interactions_2025_export.csv",
        "interactions_2025",
        tmp_path,
        suggest=False,
        check_published=True,
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.index("Appendix: published figures check") > html.index('id="provenance"')
    assert "237 of 241 published 2025 values reproduced" in html
    assert (out / "published_check.csv").is_file()


# -- recode matching and suggestions ----------------------------------------------------------


def _entry(text: str, category: str) -> RecodeEntry:
    return RecodeEntry(text=text, category=category, reviewed_by="T", reviewed_on="2026-03-01")


def _frame_with_other_texts(texts: list[str]) -> pl.DataFrame:
    spec = load_questionnaire("interactions_2025")
    p = prepare(REFERENCE_DATA / "interactions_2025_export.csv", "interactions_2025", suggest=False)
    frame = p.ingested.frame
    others = frame.filter(pl.col("sector") == "other").head(len(texts))["_row"].to_list()
    lookup = dict(zip(others, texts, strict=True))
    return spec, frame.with_columns(
        pl.col("_row").replace_strict(lookup, default=None).alias("_t")
    ).with_columns(
        pl.when(pl.col("_t").is_not_null())
        .then(pl.col("_t"))
        .otherwise(pl.col("sector__other_text"))
        .alias("sector__other_text")
    ).drop("_t")


def test_recode_matching_is_exact_after_trimming():
    texts = [
        "youth offending team",
        "  youth offending team  ",
        "Youth Offending Team",
        "youth  offending team",
    ]
    spec, frame = _frame_with_other_texts(texts)
    table = RecodeTable(
        question="sector", entries=(_entry("youth offending team", "youth_justice"),)
    )
    review = clean(frame, spec, table).other_review
    status = dict(zip(review["text"], review["status"], strict=False))
    assert status["youth offending team"] == "reviewed"
    assert status["  youth offending team  "] == "reviewed"  # trimmed at both ends
    assert status["Youth Offending Team"] == "unreviewed"  # case counts
    assert status["youth  offending team"] == "unreviewed"  # inner spacing counts
    note = review.filter(pl.col("text") == "Youth Offending Team")["note"].item()
    assert "differs from reviewed 'youth offending team'" in note


def test_suggestions_respect_targets_and_the_stated_similarity():
    spec, frame = _frame_with_other_texts(["DWP work coach", "Probation officer"])
    seen: list[list[str]] = []

    def fake(texts, options):
        seen.append([o.code for o in options])
        return [("youth_justice", 0.133 if t == "DWP work coach" else 0.7) for t in texts]

    recodes = load_recodes(spec)
    review = clean(frame, spec, recodes, fake).other_review
    assert "youth" not in seen[0] and "other" not in seen[0]
    assert set(seen[0]) == set(recodes.targets) - {"other"}
    row = review.filter(pl.col("text") == "DWP work coach").row(0, named=True)
    assert row["suggested"] is None and row["similarity"] == pytest.approx(0.133)
    assert (
        review.filter(pl.col("text") == "Probation officer")["suggested"].item() == "youth_justice"
    )


def test_a_recode_to_a_category_outside_the_targets_is_refused(tmp_path):
    spec = second_wave_spec(tmp_path)
    path = spec.directory / "recodes.yaml"
    text = path.read_text(encoding="utf-8").replace("category: youth_justice", "category: youth", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception, match="not an allowed target"):
        load_recodes(load_questionnaire(spec.path))


def test_strict_refuses_unreviewed_texts_and_writes_nothing(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "survey",
            "run",
            str(REFERENCE_DATA / "interactions_2025_export.csv"),
            "--no-suggest",
            "--strict",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "not in the reviewed recode table (--strict)" in result.output
    assert "joinedup survey others" in result.output
    assert not (tmp_path / "interactions_2025").exists()


def test_run_summary_lists_unreviewed_texts_and_ends_with_the_report_path(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "survey",
            "run",
            str(REFERENCE_DATA / "interactions_2025_export.csv"),
            "--no-suggest",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Report written to ") and lines[-1].endswith("report.html")
    assert (
        "5 'Other' answer(s), 5 distinct text(s), are not in the reviewed recode table"
        in result.output
    )
    assert "Parish council" in result.output and "joinedup survey others" in result.output


def test_cached_suggestions_never_load_the_model(tmp_path, monkeypatch):
    calls: list[int] = []

    def encode(self, texts):
        calls.append(len(texts))
        rng = np.random.default_rng(len(texts))
        return embed.l2_normalise(rng.normal(size=(len(texts), 8)))

    def no_load(self):
        raise AssertionError("the model was loaded although every vector was cached")

    monkeypatch.setattr(embed.SentenceTransformerEmbedder, "encode", encode)
    spec = load_questionnaire("interactions_2025")
    options = [o for o in spec.options(spec.question("sector")) if o.code != "other"]
    suggest = embedding_suggester(cache=tmp_path / "cache.duckdb")
    first = suggest(["Parish council", "DWP work coach"], options)
    monkeypatch.setattr(embed.SentenceTransformerEmbedder, "_load", no_load)
    monkeypatch.setattr(embed.SentenceTransformerEmbedder, "encode", no_load)
    assert suggest(["DWP work coach", "Parish council"], options) == first[::-1]
    assert calls == [len(options) + 2]


# -- Qualtrics as Qualtrics exports it ---------------------------------------------------------


def _qualtrics_people() -> list[dict[str, object]]:
    from survey_fixtures import allied, partial, youth

    people = [youth(i, format=["email", "video_phone"][: 1 + i % 2]) for i in range(30)]
    people += [allied(i) for i in range(30, 45)]
    people += [allied(45, sector="other", sector__other_text="NHS CAMHS")]
    people += [allied(46, sector="other", sector__other_text="Parish council")]
    people += [partial(), partial(role="practitioner")]
    return people


def test_a_qualtrics_export_with_its_metadata_columns_runs(tmp_path):
    from qualtrics_export import qualtrics_export

    spec = load_questionnaire("interactions_2025")
    path = qualtrics_export(
        tmp_path / "q.csv", spec, _qualtrics_people(), statuses={2: "Survey Preview"}
    )
    p = prepare(path, "interactions_2025", suggest=False)
    assert p.ingested.layout == "qualtrics" and p.ingested.header_rows == 3
    funnel = dict(p.cleaned.funnel.iter_rows())
    assert funnel["raw"] == 49 and funnel["removed_partial"] == 2 and funnel["other_recoded"] == 1
    assert funnel["route_youth"] == 30 and funnel["route_allied"] == 17
    notes = " ".join(p.ingested.notes)
    for meta in (
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "Recorded Date",
        "Distribution Channel",
        "User Language",
    ):
        assert meta in notes
    assert "Survey Preview (1)" in notes
    assert {"Recipient Email", "IP Address", "Location Latitude"} <= set(p.ingested.dropped_columns)
    fmt = p.data.routes["youth"]
    assert fmt["format__email"].sum() == 30 and fmt["format__video_phone"].sum() == 15
    out = run_survey(path, "interactions_2025", tmp_path / "out", suggest=False)  # end to end
    assert (out / "report.html").is_file() and (out / "tables.xlsx").is_file()
    assert dict(pl.read_csv(out / "funnel.csv").iter_rows()) == funnel


def test_qualtrics_numeric_values_need_declared_recode_values(tmp_path):
    from qualtrics_export import qualtrics_export

    spec = load_questionnaire("interactions_2025")
    path = qualtrics_export(tmp_path / "n.csv", spec, _qualtrics_people(), numeric=True)
    result = CliRunner().invoke(app, ["survey", "ingest", str(path)])
    assert result.exit_code == 2
    assert "numeric answer code" in result.output and "Use choice text" in result.output

    copy = second_wave_spec(tmp_path / "spec")  # any copy will do; give every option its position
    data = yaml.safe_load(copy.path.read_text(encoding="utf-8"))
    for q in data["questions"]:
        if isinstance(q.get("options"), list):
            q["options"] = [{**o, "recode": k} for k, o in enumerate(q["options"], start=1)]
    data["option_sets"] = {
        name: [{**o, "recode": k} for k, o in enumerate(opts, start=1)]
        for name, opts in data.get("option_sets", {}).items()
    }
    copy.path.write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    numeric = prepare(path, copy.path, suggest=False)
    text = prepare(
        qualtrics_export(tmp_path / "t.csv", spec, _qualtrics_people()),
        "interactions_2025",
        suggest=False,
    )
    cols = [c.name for c in spec.columns]
    assert numeric.ingested.frame.select(cols).equals(text.ingested.frame.select(cols))
