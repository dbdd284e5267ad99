"""JOQ outputs (issue 12 items 5 and 6): the consent rule, every quote per code, coded_answers,
breakdowns with suppression, and chart geometry people can read. Hashing embedder, no model."""

from __future__ import annotations

import csv

import openpyxl
import polars as pl
import pytest

from pipeline.core.safety.pseudonym import PREFIX
from pipeline.joq import charts, publish, quotes, store, trends
from pipeline.joq import report as rep
from pipeline.joq.frames import Taxonomy
from tests.test_joq_reliability import HOSTILE, MONTH, ROWS, full_run, new_month, rid_of


def frame_of(rows: list[tuple[str, bool | None, bool]]) -> pl.DataFrame:
    """(response id, consent, usable) rows as joq_responses would hold them."""
    return pl.DataFrame(
        {
            "response_id": [r[0] for r in rows],
            "consent": [r[1] for r in rows],
            "usable": [r[2] for r in rows],
        },
        schema_overrides={"consent": pl.Boolean},
    )


# --- the consent rule ---------------------------------------------------------------------------


def test_when_consent_was_asked_only_a_yes_is_quotable_and_a_blank_counts_as_no() -> None:
    df = frame_of([("a", True, True), ("b", False, True), ("c", None, True), ("d", True, False)])
    assert quotes.consent_status(df).to_list() == ["yes", "no", "not answered", "yes"]
    assert quotes.quotable(df, excluded=set()).to_list() == [True, False, False, False]


def test_when_consent_was_not_asked_answers_are_quotable_and_the_report_says_why() -> None:
    df = frame_of([("a", None, True), ("b", None, True)])
    assert quotes.consent_status(df).to_list() == ["not asked", "not asked"]
    assert quotes.quotable(df, excluded=set()).to_list() == [True, True]
    assert quotes.quotable(df, excluded=set(), when_not_asked=False).to_list() == [False, False]
    summary = quotes.consent_summary(df, set())
    assert "no consent question" in quotes.rule_text(summary)
    # no consent column at all (an older store) reads the same way
    assert quotes.consent_status(df.drop("consent")).to_list() == ["not asked", "not asked"]


def test_a_reviewer_exclusion_withholds_even_with_consent() -> None:
    df = frame_of([("a", True, True), ("b", True, True)])
    assert quotes.quotable(df, excluded={"b"}).to_list() == [True, False]
    assert quotes.consent_summary(df, {"b"}) | {} == {
        "asked": True,
        "when_not_asked": True,
        "yes": 2,
        "no": 0,
        "unanswered": 0,
        "not_asked": 0,
        "excluded": 1,
        "quotable": 1,
    }


# --- the month end to end: consent, appendix, coded_answers, breakdowns --------------------------

DECLINED = "Schools and youth workers should talk more, week 3"


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """The reliability month, with a consent question (one respondent said no, one left it blank)
    and a coder (CD) who changed one answer's codes."""
    s = new_month(tmp_path_factory.mktemp("outputs"))
    s.con.execute("ALTER TABLE joq_responses ADD COLUMN IF NOT EXISTS consent BOOLEAN")
    s.con.execute("UPDATE joq_responses SET consent = true")
    s.con.execute(
        "UPDATE joq_responses SET consent = false WHERE response_id = ?", [rid_of(DECLINED)]
    )
    blank = rid_of("Schools and youth workers should talk more, week 4")
    s.con.execute("UPDATE joq_responses SET consent = NULL WHERE response_id = ?", [blank])
    full_run(s)
    decision = {
        "month": [MONTH],
        "response_id": [rid_of("More mentor schemes")],
        "codes": [["mentor", "money"]],
        "coder": ["CD"],
        "decided_at": ["2025-04-02T10:00:00Z"],
        "seq": [store.next_seq(s.con)],
    }
    store.insert(s.con, "joq_decisions", pl.DataFrame(decision))
    return s, publish.write_month_report(s, MONTH, ["Priya"]).parent


def test_no_quote_anywhere_from_a_respondent_who_declined(month) -> None:
    _, out = month
    html, md = (out / "report.html").read_text(), (out / "report.md").read_text()
    assert DECLINED not in html and DECLINED not in md
    assert "week 4" not in html  # blank consent when the question was asked: not quoted
    assert "Quotes only from respondents who agreed to be quoted (" in html


def test_the_appendix_holds_every_quotable_coded_answer_once_per_code(month) -> None:
    s, out = month
    ctx, _, _ = publish.month_context(s, MONTH, ["Priya"])
    final = store.final_codes(s.con, MONTH)
    ok = dict(
        zip(
            store.responses(s.con, MONTH, usable_only=True)["response_id"],
            quotes.quotable(store.responses(s.con, MONTH, usable_only=True), set()),
            strict=True,
        )
    )
    excluded = rid_of("A shared rota with SECRET-EXCLUDED-WORDS")
    for c in ctx["codes"]:
        coded = set(final.filter(pl.col("code_id") == c["id"])["response_id"])
        expected = {r for r in coded if ok[r] and r != excluded}
        got = [q.response_id for q in c["appendix"]]
        assert sorted(got) == sorted(expected), c["id"]
        assert c["coded"] == len(coded) and c["withheld"] == len(coded) - len(expected)
        assert [q.response_id for q in c["quotes"]] == got[: publish.QUOTES_IN_BODY]
    html = (out / "report.html").read_text()
    assert 'id="appendix-quotes"' in html
    assert "jo.bloggs@example.org" not in html and "Priya" not in html


def test_coded_answers_has_one_row_per_imported_answer_with_everything_a_reader_needs(
    month,
) -> None:
    _, out = month
    df = pl.read_csv(out / "coded_answers.csv", infer_schema=False)
    assert df.columns == [
        "respondent",
        "status",
        "text",
        "codes",
        "code_labels",
        "decided_by",
        "machine_codes",
        "machine_score",
        "role",
        "region",
        "sectors",
        "consent",
        "quotable",
    ]
    assert df.height == len(ROWS)  # every imported row, the non-answer too
    assert df["respondent"].str.starts_with(PREFIX).all() and df["respondent"].is_unique().all()
    assert not set(df["respondent"]) & {f"R{i:02d}" for i in range(1, len(ROWS) + 1)}
    assert df.filter(pl.col("status") == "not coded (non-answer)").height == 1
    text = " ".join(df["text"].to_list())
    assert "jo.bloggs@example.org" not in text and "07700 900123" not in text
    assert "Priya" not in text
    assert set(df["decided_by"]) == {"machine", "coder CD", ""}
    mentor = df.filter(pl.col("text") == "More mentor schemes").row(0, named=True)
    assert mentor["codes"] == "money; mentor" and mentor["decided_by"] == "coder CD"
    assert mentor["machine_codes"] == "mentor"  # what the machine said stays visible
    coded = df.filter(pl.col("status") == "coded")
    assert (coded["codes"] != "").all() and (coded["machine_score"] != "").all()
    assert set(df["consent"]) == {"yes", "no", "not answered"}
    declined = df.filter(pl.col("text") == DECLINED)
    assert declined["consent"].to_list() == ["no"] and declined["quotable"].to_list() == ["no"]
    assert set(df.filter(pl.col("text").str.contains("Tenancy support"))["sectors"]) == {"Housing"}
    wb = openpyxl.load_workbook(out / "coded_answers.xlsx")
    ws = wb["coded_answers"]
    assert [c.value for c in ws[1]] == df.columns
    assert ws.max_row == len(ROWS) + 1 and ws.freeze_panes == "B2" and ws.auto_filter.ref
    text_col = df.columns.index("text") + 1
    assert all(ws.cell(row=i, column=text_col).alignment.wrap_text for i in range(2, ws.max_row))
    assert any("pseudonym" in str(c.value) for c in wb["about"]["A"])


def test_coded_answers_neutralises_spreadsheet_formulas(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1740000000")
    rows = [*ROWS[:-1], (HOSTILE + " talk", "Education", "North")]
    s = new_month(tmp_path, rows=rows)
    out = full_run(s)
    with (out / "coded_answers.csv").open(encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not any(c.startswith("=") for c in cells)
    ws = openpyxl.load_workbook(out / "coded_answers.xlsx").active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_codes_by_region_has_bases_and_suppresses_small_cells(month) -> None:
    _, out = month
    df = pl.read_csv(out / "tables" / "joq-codes-by-region.csv", infer_schema=False)
    bases = dict(zip(df["group"], df["base"].cast(pl.Int64), strict=False))
    assert bases == {"North": 32, "Orkney": 2}
    assert df["group"].unique(maintain_order=True).to_list() == ["North", "Orkney"]  # largest first
    n = df["n"].cast(pl.Int64)
    small = (n >= 1) & (n < rep.BREAKDOWN_MIN_CELL)
    assert (df.filter(small)["n_display"] == "[c]").all()
    assert (df.filter(pl.col("group") == "Orkney")["pct_display"] == "[c]").all()  # base < 10
    html = (out / "report.html").read_text()
    assert "Codes by region" in html and "n=32" in html


def test_breakdown_columns_are_the_imported_characteristics_with_values() -> None:
    df = pl.DataFrame(
        {
            "response_id": ["a"],
            "text": ["x"],
            "role": [""],
            "region": ["North"],
            "team": ["B"],
            "nonanswer": [None],
        },
        schema_overrides={"nonanswer": pl.String},
    )
    assert rep.breakdown_columns(df) == ["region", "team"]  # an empty role column is no section


def test_a_month_without_a_sector_question_has_no_sector_sections(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1740000000")
    from tests.test_joq_reliability import frame

    doc = frame() | {"sectors": []}
    s = new_month(tmp_path, frame_doc=doc)
    out = full_run(s)
    html = (out / "report.html").read_text()
    assert "Sectors selected" not in html and "Codes by sector" not in html
    assert not (out / "tables" / "figure-G-1.csv").exists()
    assert "Sectors selected" not in (out / "report.md").read_text()


# --- charts -------------------------------------------------------------------------------------

LONG = "Education including schools, further education, PRUs and alternative provision"


def rows(*pairs: tuple[str, float]) -> list[dict]:
    return [{"row_label": label, "pct": pct, "n": int(pct)} for label, pct in pairs]


def test_bars_are_sorted_largest_first_with_other_kept_last() -> None:
    chart = charts.bar_chart(
        rows(("Small", 5), ("Other", 30), ("Big", 40), ("Mid", 20)), last=("Other",)
    )
    assert [b["label"] for b in chart["bars"]] == ["Big", "Mid", "Small", "Other"]


def test_labels_are_wrapped_on_words_never_cut_and_bars_use_the_width() -> None:
    chart = charts.bar_chart(rows((LONG, 40), ("Short", 10)), width=760, label_width=300)
    lines = [ln["text"] for ln in chart["bars"][0]["lines"]]
    assert len(lines) > 1 and " ".join(lines) == LONG
    assert all(len(ln) * charts.CHAR_PX <= 300 for ln in lines)
    biggest = chart["bars"][0]
    assert biggest["w"] == 760 - 300 - 12 - 96  # the largest bar fills the plot
    assert chart["bars"][1]["w"] == pytest.approx(biggest["w"] / 4)
    ys = [b["y"] for b in chart["bars"]]
    assert ys[1] >= ys[0] + len(lines) * charts.LINE_PX  # the wrapped label's rows are reserved


def test_trend_panels_leave_a_gap_where_a_theme_was_not_in_the_frame() -> None:
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    chart = charts.small_multiples(
        {"Funding": {"2025-01": 10.0, "2025-02": None, "2025-03": 20.0, "2025-04": 24.0}}, months
    )
    (panel,) = chart["panels"]
    assert [g["month"] for g in panel["gaps"]] == ["2025-02"]
    assert len(panel["segments"]) == 1 and panel["segments"][0].count(",") == 2  # Mar-Apr only
    assert [d["label"] for d in panel["dots"]] == ["10%", "20%", "24%"]
    assert [t["value"] for t in chart["ticks"]] == [0, 15, 30]  # a shared y-axis from 0


def test_trends_table_marks_a_theme_outside_the_months_frame_not_zero() -> None:
    tax = Taxonomy.model_validate(
        {
            "version": 1,
            "themes": [
                {"id": "a", "label": "A", "description": "", "sources": []},
                {"id": "b", "label": "B", "description": "", "sources": []},
            ],
        }
    )
    final = pl.DataFrame({"response_id": ["r1", "r2"], "theme": ["a", "b"]})
    table = trends.trends_table(
        {"2025-01": (4, final, {"a", "b"}), "2025-02": (4, final[:1], {"a"})}, tax
    )
    b_feb = table.filter((pl.col("row_label") == "B") & (pl.col("group") == "2025-02"))
    assert b_feb["pct"].to_list() == [None] and b_feb["flag"].to_list() == [trends.NOT_IN_FRAME]
    assert trends.ranked_themes(table) == ["A", "B"]


def test_a_wide_breakdown_is_split_into_grids_that_fit_the_page() -> None:
    def table(n_groups: int) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {"group": f"G{g:02d}", "row_label": c, "base": 20, "pct_display": "5"}
                for g in range(n_groups)
                for c in ("talk", "money")
            ]
        )

    wide = rep.breakdown_matrix(table(13))
    assert [len(p["groups"]) for p in wide["parts"]] == [7, 6]
    assert [g["label"] for p in wide["parts"] for g in p["groups"]] == [
        g["label"] for g in wide["groups"]
    ]
    assert [len(p["groups"]) for p in rep.breakdown_matrix(table(8))["parts"]] == [4, 4]
    assert len(rep.breakdown_matrix(table(5))["parts"]) == 1
