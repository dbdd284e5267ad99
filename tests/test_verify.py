"""verify: tolerance rules for percentages, counts, bases, ratios and worded values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline.survey.published import Published, PublishedModel
from pipeline.survey.tables.engine import TIDY_COLUMNS
from pipeline.survey.verify import CHECK_COLUMNS, check_published, summary


def tidy(rows: list[dict[str, Any]], table_id: str = "figure-F-1") -> pl.DataFrame:
    full = [
        {"table_id": table_id, "group": None, "row_label": r["row"], "ci_low": None,
         "ci_high": None, "flag": None, "ratio": None, **r}
        for r in rows
    ]  # fmt: skip
    schema = {c: pl.String for c in TIDY_COLUMNS} | {
        "n": pl.Int64, "base": pl.Int64, "pct": pl.Float64, "ci_low": pl.Float64,
        "ci_high": pl.Float64, "ratio": pl.Float64,
    }  # fmt: skip
    return pl.DataFrame(full, schema=schema)


def published(
    values: list[dict[str, Any]], *, fig: str = "figure-F-1", recon: bool = False
) -> Published:
    model = {
        "survey": "s",
        "source": "src",
        "figures": [
            {
                "id": fig,
                "title": "t",
                "cite": "c",
                "population": "p",
                "statistic": "frequency",
                "values": [{"label": "l", **v} for v in values],
            },
        ],
        "reconciliations": [{"figures": [fig], "issue": "Printed 75.", "resolution": "Kept."}]
        if recon
        else [],
    }
    return Published(PublishedModel.model_validate(model), Path("p.yaml"))


@pytest.mark.parametrize(
    ("regenerated", "printed", "status"),
    [(75.5, 75, "match"), (74.5, 75, "match"), (75.7, 75, "mismatch"), (74.4, 75, "mismatch")],
)
def test_percentage_within_half_a_point(regenerated: float, printed: int, status: str) -> None:
    tables = {"figure-F-1": tidy([{"row": "a", "n": 1, "base": 2, "pct": regenerated}])}
    check = check_published(tables, published([{"row": "a", "pct": printed}]))
    assert check.columns == list(CHECK_COLUMNS)
    assert check["status"].to_list() == [status]


def test_counts_and_bases_exact_and_mismatch_carries_reconciliation() -> None:
    tables = {"figure-F-1": tidy([{"row": "a", "n": 187, "base": 247, "pct": 75.7}])}
    ok = check_published(tables, published([{"row": "a", "n": 187, "base": 247}]))
    assert ok["status"].to_list() == ["match"]
    assert "base 247" in ok["note"][0]
    bad = check_published(tables, published([{"row": "a", "n": 187, "pct": 75}], recon=True))
    assert bad["status"].to_list() == ["mismatch"]
    assert "Printed 75." in bad["note"][0] and "Kept." in bad["note"][0]
    off = check_published(tables, published([{"row": "a", "n": 186}]))
    assert off["status"].to_list() == ["mismatch"]


def test_ratio_tolerance_and_qualifiers() -> None:
    rows = [{"row": "r", "n": 38, "base": 120, "pct": 31.7, "ratio": 0.4935}]
    tables = {"figure-5-3": tidy(rows, "figure-5-3")}
    assert check_published(tables, published([{"row": "r", "ratio": 0.49}], fig="figure-5-3"))[
        "status"
    ].to_list() == ["match"]
    assert check_published(tables, published([{"row": "r", "ratio": 0.48}], fig="figure-5-3"))[
        "status"
    ].to_list() == ["mismatch"]
    approx = published([{"row": "r", "ratio": 0.5, "qualifier": "approx"}], fig="figure-5-3")
    assert check_published(tables, approx)["status"].to_list() == ["match"]


@pytest.mark.parametrize(
    ("value", "printed", "qualifier", "status"),
    [
        (72.0, 75, "nearly", "match"),
        (75.2, 75, "nearly", "mismatch"),
        (96.1, 95, "more_than", "match"),
        (94.9, 95, "more_than", "mismatch"),
        (20.3, 20, "at_most", "match"),
        (21.0, 20, "at_most", "mismatch"),
    ],
)
def test_worded_values(value: float, printed: int, qualifier: str, status: str) -> None:
    tables = {"figure-F-1": tidy([{"row": "a", "n": 1, "base": 2, "pct": value}])}
    check = check_published(
        tables, published([{"row": "a", "pct": printed, "qualifier": qualifier}])
    )
    assert check["status"].to_list() == [status]


def test_not_computed_missing_table_row_or_suppressed() -> None:
    tables = {"figure-F-1": tidy([{"row": "a", "n": 1, "base": 5, "pct": None}])}
    check = check_published(tables, published([{"row": "a", "pct": 20}, {"row": "zz", "pct": 1}]))
    assert check["status"].to_list() == ["not_computed", "not_computed"]
    assert "suppressed" in check["note"][0]
    none = check_published({}, published([{"row": "a", "pct": 20}]))
    assert none["status"].to_list() == ["not_computed"]


def test_funnel_counts_and_summary() -> None:
    funnel = pl.DataFrame({"step": ["usable", "route_youth"], "count": [296, 252]})
    pub = published([{"row": "route_youth", "n": 252, "pct": 85}], fig="text-2.26")
    check = check_published({}, pub, funnel=funnel)
    assert check["status"].to_list() == ["match"]
    s = summary(check)
    assert (s["matched"], s["total"], s["share"]) == (1, 1, 1.0)
    assert summary(check.clear())["share"] == 0.0
