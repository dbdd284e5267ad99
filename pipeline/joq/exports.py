"""``coded_answers``: every imported answer of a month with its final codes, one row each.

Why: analysts and coders need the coded data itself, not only the report's tables. Every imported
row is there (non-answers too, with their reason), so the file reconciles with the import. It is
built for sharing: the response id is replaced by a keyed pseudonym, the text is redacted for
publication, and the writers (``pipeline.core.safety.export``) neutralise spreadsheet formulas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.core.safety.export import excel_text, save_workbook
from pipeline.core.safety.pseudonym import pseudonymise
from pipeline.core.safety.redact import Redactor
from pipeline.joq.frames import Frame
from pipeline.joq.quotes import consent_status, quotable

COLUMNS = [
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


def coded_answers(
    responses: pl.DataFrame,
    final: pl.DataFrame,
    machine: pl.DataFrame,
    frame: Frame,
    excluded: set[str],
    redactor: Redactor,
    key: bytes,
) -> pl.DataFrame:
    """One row per imported response, in import order.

    ``final``: final codes (``response_id, code_id, method``; ``method`` ``human:<coder>`` for a
    human decision). ``machine``: the latest run's machine codes (``response_id, code_id, score``),
    shown even where a coder overrode them. ``machine_score`` is the highest score among them.
    """
    order = {c.id: i for i, c in enumerate(frame.codes)}
    labels = {c.id: c.label for c in frame.codes}
    sector_labels = {s.code: s.label for s in frame.sectors}

    def joined(df: pl.DataFrame, name: str) -> pl.DataFrame:
        return (
            df.with_columns(_o=pl.col("code_id").replace_strict(order, default=len(order)))
            .sort("response_id", "_o", "code_id")
            .group_by("response_id", maintain_order=True)
            .agg(pl.col("code_id").str.join("; ").alias(name), *_extra(df, name))
        )

    fin = joined(final, "codes")
    mac = joined(machine, "machine_codes")
    out = (
        responses.select("response_id", "usable", "nonanswer", "text", "role", "region", "sectors")
        .join(fin, on="response_id", how="left")
        .join(mac, on="response_id", how="left")
    )
    decided = out["decided_by"].to_list() if "decided_by" in out.columns else [None] * out.height
    return pl.DataFrame(
        {
            "respondent": pseudonymise(responses["response_id"], key),
            "status": [
                "coded" if u else f"not coded ({r or 'non-answer'})"
                for u, r in zip(out["usable"], out["nonanswer"], strict=True)
            ],
            "text": [redactor.redact(t or "") for t in out["text"]],
            "codes": out["codes"].fill_null(""),
            "code_labels": [
                "; ".join(labels.get(c, c) for c in (v or "").split("; ") if c)
                for v in out["codes"]
            ],
            "decided_by": [
                d or ("machine" if u else "") for d, u in zip(decided, out["usable"], strict=True)
            ],
            "machine_codes": out["machine_codes"].fill_null(""),
            "machine_score": out["machine_score"].round(3),
            "role": out["role"].fill_null(""),
            "region": out["region"].fill_null(""),
            "sectors": [
                "; ".join(sector_labels.get(s, s) for s in (v if v is not None else []))
                for v in out["sectors"]
            ],
            "consent": consent_status(responses),
            "quotable": ["yes" if q else "no" for q in quotable(responses, excluded)],
        },
        schema_overrides={"machine_score": pl.Float64},
    ).select(COLUMNS)


# Column widths in characters; text in these columns wraps (row heights set to show every line).
WIDE = {"text": 70, "code_labels": 40, "codes": 28, "machine_codes": 28, "sectors": 36}
LINE_HEIGHT = 15  # points per wrapped line


def write_xlsx(answers: pl.DataFrame, path: Path, about: Sequence[str]) -> None:
    """``coded_answers.xlsx``: one sheet to filter and read (frozen header, a filter on every
    column, long text wrapped, never cut), and an ``about`` sheet saying what the file is. Every
    text cell goes through the export rule, so an answer starting with ``=`` stays text."""
    wb = Workbook()
    ws = wb.active
    ws.title = "coded_answers"
    head = PatternFill("solid", fgColor="DDE4EE")
    wrap, top = Alignment(wrap_text=True, vertical="top"), Alignment(vertical="top")
    for j, name in enumerate(answers.columns, start=1):
        c = ws.cell(row=1, column=j, value=excel_text(name))
        c.font, c.fill, c.alignment = Font(bold=True), head, top
        longest = int(answers[name].cast(pl.String).fill_null("").str.len_chars().max() or 0)
        width = WIDE.get(name, min(max(longest, len(name)) + 2, 24))
        ws.column_dimensions[get_column_letter(j)].width = width
    widths = {n: WIDE[n] for n in answers.columns if n in WIDE}
    for i, row in enumerate(answers.iter_rows(named=True), start=2):
        lines = 1
        for j, (name, value) in enumerate(row.items(), start=1):
            cell = ws.cell(row=i, column=j)
            if value is not None:
                cell.value = excel_text(value) if isinstance(value, str) else value
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
            cell.alignment = wrap if name in widths else top
            if name in widths and isinstance(value, str):
                lines = max(lines, math.ceil(len(value) / widths[name]) or 1)
        if lines > 1:
            ws.row_dimensions[i].height = lines * LINE_HEIGHT
    ws.freeze_panes = "B2"
    ws.page_setup.orientation = "landscape"  # printed: every column on one page width
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.auto_filter.ref = f"A1:{get_column_letter(answers.width)}{max(answers.height + 1, 2)}"
    info = wb.create_sheet("about")
    info.column_dimensions["A"].width = 110
    for k, line in enumerate((x for x in about if x), start=1):
        info.cell(row=k, column=1, value=excel_text(line)).alignment = wrap
    save_workbook(wb, path)


def _extra(df: pl.DataFrame, name: str) -> list[pl.Expr]:
    """Who decided (final codes) or the top score (machine codes), beside the joined codes."""
    if name == "codes":
        human = pl.col("method").str.starts_with("human:")
        return [
            pl.when(human.any())
            .then(pl.lit("coder ") + pl.col("method").filter(human).first().str.slice(6))
            .otherwise(None)
            .alias("decided_by")
        ]
    return [pl.col("score").max().alias("machine_score")]
