"""Seeded "months" of human-coded real text, and their frames, for the coding-quality harness.

Why: every agreement figure the project had was on answers, gold codes and phrases written by the
same team. A month here is ~250 answers to one organisation's question, coded by other people, with
the question's 12 most frequent codes; its frame is written from the code names alone
(``nhs_frame.yaml``), as a coder drafting from a code list would. Pure functions over DataFrames;
the CSV is read at the edge (``load_coded``) and never copied into the repository.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from pipeline.core.errors import InputError
from pipeline.joq.frames import OTHER, Frame

FRAME_FILE = Path(__file__).with_name("nhs_frame.yaml")
COLUMNS = ("code", "feedback", "question")


@dataclass(frozen=True)
class Month:
    """One simulated month: answers (ids align with texts), gold codes per answer, its frame."""

    name: str  # the source question, e.g. "Trust A - Q1"
    ids: list[str]
    texts: list[str]
    gold: Mapping[str, frozenset[str]]
    frame: Frame  # with include phrases
    bare: Frame  # the same frame without phrases (the model's own contribution)

    @property
    def codes(self) -> list[str]:
        return [c.id for c in self.frame.codes if c.id != OTHER]


def load_coded(path: Path) -> pl.DataFrame:
    """The coded CSV as strings: one row per (comment, code); refuses a file without the columns."""
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as err:
        raise InputError(f"cannot read the coded data ({type(err).__name__})", file=path) from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            file=path,
            fix=f"the file needs columns {', '.join(COLUMNS)}",
        )
    return df.select(COLUMNS)


def load_frame_spec(path: Path = FRAME_FILE) -> dict[str, dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["codes"]


def answers(coded: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct answer per question, with the set of codes its coders gave."""
    return (
        coded.with_columns(pl.col("feedback").str.strip_chars())
        .filter(pl.col("feedback").str.contains(r"[A-Za-z]"))
        .group_by("question", "feedback")
        .agg(pl.col("code").unique().sort().alias("codes"))
        .sort("question", "feedback")
    )


def _frame(month: str, codes: list[str], spec: Mapping[str, dict], phrases: bool) -> Frame:
    missing = [c for c in codes if c not in spec]
    if missing:
        raise InputError(
            f"no definition for code(s) {', '.join(missing)}",
            file=FRAME_FILE,
            fix="add them to tools/eval/nhs_frame.yaml",
        )
    rows = [
        {
            "id": c,
            "label": spec[c]["label"],
            "definition": spec[c]["definition"],
            "theme": c,  # the dataset's code is stable across questions: the cross-month theme
            "include": list(spec[c].get("include", [])) if phrases else [],
        }
        for c in codes
    ]
    rows.append({"id": OTHER, "label": "Other", "theme": OTHER})
    return Frame.model_validate(
        {"month": month, "status": "reviewed", "question": "", "codes": rows}
    )


def _rid(question: str, text: str) -> str:
    return hashlib.sha256(f"{question}\x00{text}".encode()).hexdigest()[:12]


def build_months(
    coded: pl.DataFrame,
    n_answers: int = 250,
    n_codes: int = 12,
    seed: int = 20250131,
    spec: Mapping[str, dict] | None = None,
) -> list[Month]:
    """Per question (largest first): its ``n_codes`` most frequent codes; ``n_answers`` answers
    drawn (seeded) from those whose every code is among them. Answers with other codes are left
    out, so the gold never needs 'other' (stated in the report)."""
    spec = spec if spec is not None else load_frame_spec()
    ans = answers(coded)
    months = []
    order = ans.group_by("question").len().sort(["len", "question"], descending=[True, False])
    for k, question in enumerate(order["question"].to_list()):
        sub = ans.filter(pl.col("question") == question)
        freq = (
            sub.explode("codes")
            .group_by("codes")
            .len()
            .sort(["len", "codes"], descending=[True, False])
        )
        top = freq["codes"].head(n_codes).to_list()
        keep = sub.filter(pl.col("codes").list.eval(pl.element().is_in(top)).list.all())
        rng = np.random.default_rng(seed + k)
        pick = np.sort(rng.permutation(keep.height)[: min(n_answers, keep.height)])
        chosen = keep[pick.tolist()]
        texts = chosen["feedback"].to_list()
        ids = [_rid(question, t) for t in texts]
        gold = {r: frozenset(c) for r, c in zip(ids, chosen["codes"].to_list(), strict=True)}
        codes = sorted(top)
        month = f"2024-{k + 1:02d}"
        months.append(
            Month(
                question,
                ids,
                texts,
                gold,
                _frame(month, codes, spec, True),
                _frame(month, codes, spec, False),
            )
        )
    return months
