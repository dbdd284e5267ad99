"""``coded_answers``: every imported answer of a month with its final codes, one row each.

Why: analysts and coders need the coded data itself, not only the report's tables. Every imported
row is there (non-answers too, with their reason), so the file reconciles with the import. It is
built for sharing: the response id is replaced by a keyed pseudonym, the text is redacted for
publication, and the writers (``pipeline.core.safety.export``) neutralise spreadsheet formulas.
"""

from __future__ import annotations

import polars as pl

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
                "coded" if u else f"non-answer ({r or 'blank'})"
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
