"""Figure G-1 as published: the pipeline's figure-G-1 table from the reference January export.

Annex G (seed 001): "The Just One Question received 237 useable responses" (G.3) and Figure G-1
gives each sector's share of respondents in whole per cent. The pipeline computes the table; the
published values live only here, and every one must be matched within 0.5 percentage points.
"""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.core.embed import HashingEmbedder
from pipeline.core.paths import CODING_FRAMES, REFERENCE_DATA
from pipeline.joq import flow, store
from pipeline.joq import report as rep
from pipeline.joq.frames import Frame, Sector

ANNEX_G_FIGURE_G1 = {  # Annex G, Figure G-1 (published, whole per cent)
    "Housing including housing associations": 9,
    "Youth Justice e.g. police, probation and legal services": 15,
    "Healthcare including GPs, mental health services": 16,
    "Social care including children and social services": 20,
    "Education including schools, further education, PRUs": 39,
    "All of the above": 51,
}


@pytest.fixture(scope="module")
def january(tmp_path_factory: pytest.TempPathFactory) -> tuple[flow.Session, pl.DataFrame]:
    out = tmp_path_factory.mktemp("g1")
    s = flow.open_session(out / "joq.duckdb", out, CODING_FRAMES / "joq", HashingEmbedder())
    flow.run_import(s, REFERENCE_DATA / "joq" / "2025-01_export.csv", "2025-01")
    return s, rep.sector_table(store.responses(s.con, "2025-01"), s.frame("2025-01"))


def test_reference_january_holds_237_usable_answers(january) -> None:
    s, _ = january
    assert store.responses(s.con, "2025-01", usable_only=True).height == 237
    assert store.responses(s.con, "2025-01").height == 242  # plus 5 non-answers


def test_every_figure_g1_value_is_within_half_a_point_of_annex_g(january) -> None:
    _, g1 = january
    assert set(g1["base"]) == {237}
    got = dict(zip(g1["row_label"], g1["pct"], strict=True))
    assert set(got) == set(ANNEX_G_FIGURE_G1)
    for label, published in ANNEX_G_FIGURE_G1.items():
        assert abs(got[label] - published) <= 0.5, (label, got[label], published)


def _responses(rows: list[tuple[str, list[str], bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "response_id": [f"R{i}" for i in range(len(rows))],
            "text": [r[0] for r in rows],
            "sectors": [r[1] for r in rows],
            "usable": [r[2] for r in rows],
        },
        schema_overrides={"sectors": pl.List(pl.String)},
    )


def test_sector_base_is_everyone_who_ticked_whatever_they_wrote() -> None:
    """A respondent who wrote "n/a" but ticked Housing is in the base; one who ticked nothing is
    not, even with a usable answer."""
    frame = Frame.model_construct(
        sectors=[Sector(code="housing", label="Housing"), Sector(code="all", label="All")]
    )
    df = _responses(
        [
            ("More funding", ["all"], True),
            ("n/a", ["housing"], False),
            ("Talk to us", [], True),
            ("", [], False),
        ]
    )
    g1 = rep.sector_table(df, frame)
    assert g1.select("row_label", "n", "base").rows() == [("Housing", 1, 2), ("All", 1, 2)]


def test_annex_g_co_selection_from_the_pipeline(january) -> None:
    """G.12: education with social care 8%, with healthcare and youth justice 4% (exact
    selections; see docs/joq-reference-data.md for why the "at least" reading cannot be meant)."""
    s, _ = january
    co = rep.coselection_table(store.responses(s.con, "2025-01"), s.frame("2025-01"))
    pct = {(r["group"], r["row_label"]): r["pct"] for r in co.iter_rows(named=True)}
    assert abs(pct[("exactly 2", "Education + Social")] - 8) <= 0.5
    assert abs(pct[("exactly 3", "Education + Healthcare + Youth")] - 4) <= 0.5
    assert pct[("2 sectors", "Education + Social")] >= pct[("exactly 2", "Education + Social")]
