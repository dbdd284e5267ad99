"""The report bundle: files written, hostile text escaped, CSP first, nothing external."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from tables_factory import make_data, spec

from pipeline.core.safety.html import assert_rendered_clean, style_blocks, style_hash
from pipeline.survey.published import Published, PublishedModel
from pipeline.survey.report.render import md_cell, write_survey_report
from pipeline.survey.tables.definitions import load_tables
from pipeline.survey.tables.engine import compute_tables
from pipeline.survey.verify import check_published

HOSTILE = [
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    '" onmouseover="alert(1)',
    "{% if 1 %}x{% endif %}",
]
FORMATS = ["video_phone", "email", "in_person", "text_whatsapp"]


def _data() -> Any:
    rows: list[dict[str, Any]] = []
    for i in range(40):
        rows.append(
            {
                "_sector": "youth",
                "role": "leader" if i % 3 else "practitioner",
                "barriers": "yes" if i % 4 else "no",
                "interacted_education": "yes",
                "arrangement_education": ["formal", "informal", "combination"][i % 3],
                **{f"format__{o}": (i + k) % 2 == 0 for k, o in enumerate(FORMATS)},
            }
        )
    rows += [{"_route": "allied", "_sector": "education", "allied_interacted": "yes"}] * 5
    return make_data(rows)


def _published() -> Published:
    model = {
        "survey": "interactions_2025",
        "source": "s",
        "figures": [
            {"id": "text-6.20", "title": "t", "cite": "c", "population": "p", "statistic": "frequency",
             "values": [{"row": "yes", "label": "l", "pct": 76}]},
        ],
        "reconciliations": [{"figures": ["text-6.20"], "issue": HOSTILE[0], "resolution": HOSTILE[1]}],
    }  # fmt: skip
    return Published(PublishedModel.model_validate(model), Path("p.yaml"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = _data()
    tables_spec = load_tables("interactions_2025", spec())
    tables = compute_tables(data, tables_spec)
    check = check_published(tables, _published(), tables_spec=tables_spec)
    funnel = pl.DataFrame({"step": ["raw", "removed_partial", "usable", "route_youth", "route_allied"],
                           "count": [50, 5, 45, 40, 5]})  # fmt: skip
    ledger = pl.DataFrame({"row": [2], "respondent": ["p1"], "rule": [HOSTILE[2]],
                           "action": ["removed"], "before": [""], "after": [""]})  # fmt: skip
    out: dict[str, Any] = {}
    for profile in ("analysis", "publication"):
        target = tmp_path_factory.mktemp(profile)
        paths = write_survey_report(
            target, data=data, tables=tables, check=check, funnel=funnel, ledger=ledger,
            manifest={"survey": "interactions_2025", "generated_at": "2025-02-06T00:00:00Z",
                      "input": {"path": HOSTILE[3]}},
            spec=spec(), tables_spec=tables_spec, profile=profile, synthetic=True,
            quotes=[{"text": t, "source": HOSTILE[2]} for t in HOSTILE],
        )  # fmt: skip
        out[profile] = {"dir": target, "paths": paths, "tables": tables_spec}
    return out


def test_files_written(bundle: dict[str, Any]) -> None:
    target: Path = bundle["analysis"]["dir"]
    for name in ("tables.xlsx", "published_check.csv", "report.html", "report.md"):
        assert (target / name).is_file()
    ids = [t.id for t in bundle["analysis"]["tables"]]
    assert sorted(p.stem for p in (target / "tables").glob("*.csv")) == sorted(ids)
    frame = pl.read_csv(target / "tables" / "text-6.20.csv")
    assert frame.columns == [
        "table_id", "group", "row", "row_label", "n", "base", "pct", "ci_low", "ci_high", "flag", "ratio",
    ]  # fmt: skip


def test_hostile_text_is_escaped_and_nothing_unrendered(bundle: dict[str, Any]) -> None:
    html = (bundle["analysis"]["dir"] / "report.html").read_text(encoding="utf-8")
    assert_rendered_clean(html)
    assert "<script" not in html.lower()
    assert '" onmouseover="' not in html
    assert "&lt;script&gt;" in html
    md = (bundle["analysis"]["dir"] / "report.md").read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)<script", md, re.IGNORECASE)  # escaped: prints literally
    assert not re.search(r"(?<!\\)\{[{%]", md)


def test_csp_is_first_in_head_and_hashes_the_only_style(bundle: dict[str, Any]) -> None:
    html = (bundle["analysis"]["dir"] / "report.html").read_text(encoding="utf-8")
    head = html.split("<head>", 1)[1].lstrip()
    assert head.startswith('<meta http-equiv="Content-Security-Policy"')
    styles = style_blocks(html)
    assert len(styles) == 1
    assert style_hash(styles[0]) in head.split(">", 1)[0]
    assert " style=" not in html  # inline style attributes would be blocked by the CSP


def test_no_external_resources(bundle: dict[str, Any]) -> None:
    html = (bundle["analysis"]["dir"] / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "<link" not in html and "<img" not in html and "<iframe" not in html


def test_report_content(bundle: dict[str, Any]) -> None:
    html = (bundle["analysis"]["dir"] / "report.html").read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in html
    assert "Analysis profile" in html
    assert "Base: youth-sector respondents who answered (n=40)" in html
    assert html.count("<svg") >= 10
    appendix = html.index("Appendix: published figures check")
    assert appendix > html.index('id="provenance"')  # an appendix after everything else
    assert "mismatch" not in html[:appendix]
    assert "Question wording" in html and "reconstructed" in html


def test_publication_profile_suppresses_consistently(bundle: dict[str, Any]) -> None:
    target: Path = bundle["publication"]["dir"]
    frame = pl.read_csv(
        target / "tables" / "text-3.21.csv", schema_overrides={"n": pl.String, "pct": pl.String}
    )
    assert frame.filter(pl.col("row") == "yes")["n"].to_list() == ["[c]"]  # 5 allied: a small cell
    html = (target / "report.html").read_text(encoding="utf-8")
    assert "[c]" in html and "Publication profile" in html


@pytest.mark.parametrize(
    ("raw", "cell"),
    [
        ("a|b", "a\\|b"),
        ("=1+1", "\\=1+1"),
        ("-3", "\\-3"),
        ("@x", "\\@x"),
        ("two\nlines", "two lines"),
    ],
)
def test_markdown_cells_escaped(raw: str, cell: str) -> None:
    assert md_cell(raw) == cell
