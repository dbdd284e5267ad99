"""Several coders on one month: a seeded double-coding sample and agreement between two coders.

Why: one coder's judgement is not a measurement. A second coder codes a sample of answers the
first already decided, blind to those decisions; per-code Cohen's kappa says which codes the frame
defines well enough to be coded alike, and the disagreement list goes back to a coder (or both)
to resolve. Resolved decisions are ordinary, later decisions, so they are what training uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from pipeline.joq.agreement import binary_matrix, measures


def double_code_sample(
    latest: pl.DataFrame, responses: pl.DataFrame, coder: str, n: int, seed: int
) -> list[str]:
    """``n`` answers (or all there are) whose latest decision is another coder's, drawn with a
    seeded generator over the sorted ids, so the same seed gives the same sample."""
    usable = set(responses.filter(pl.col("usable"))["response_id"].to_list())
    pool = sorted(
        r
        for r, c, codes in latest.select("response_id", "coder", "codes").iter_rows()
        if codes is not None and c != coder and r in usable
    )
    if len(pool) <= n:
        return pool
    rng = np.random.default_rng(seed)
    return sorted(pool[i] for i in rng.choice(len(pool), size=n, replace=False))


def _long(dec: pl.DataFrame, aliases: Mapping[str, str]) -> pl.DataFrame:
    rows = [
        (r, aliases.get(c, c))
        for r, codes in dec.select("response_id", "codes").iter_rows()
        for c in codes
    ]
    return pl.DataFrame(rows, schema={"response_id": pl.String, "code_id": pl.String}, orient="row")


def between(
    a: pl.DataFrame,
    b: pl.DataFrame,
    codes: Sequence[str],
    aliases: Mapping[str, str],
    name_a: str,
    name_b: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-code agreement (n_a, n_b, both, kappa) on the answers both coders decided, with an
    ``all`` row (answers, answers coded identically, mean kappa); and the disagreements (response_id, each
    coder's codes, the codes only one chose)."""
    ids = sorted(set(a["response_id"].to_list()) & set(b["response_id"].to_list()))
    if not ids:
        return pl.DataFrame(), pl.DataFrame()
    la, lb = _long(a, aliases), _long(b, aliases)
    ma, mb = binary_matrix(la, ids, codes), binary_matrix(lb, ids, codes)
    m = measures(ma, mb)
    table = pl.DataFrame(
        {
            "code": list(codes),
            f"n_{name_a}": ma.sum(axis=0).astype(np.int64),
            f"n_{name_b}": mb.sum(axis=0).astype(np.int64),
            "n_both": (ma & mb).sum(axis=0).astype(np.int64),
            "kappa": m["kappa"][0],
        }
    ).filter((pl.col(f"n_{name_a}") + pl.col(f"n_{name_b}")) > 0)
    total = pl.DataFrame(
        {
            "code": ["all"],
            f"n_{name_a}": [len(ids)],
            f"n_{name_b}": [len(ids)],
            "n_both": [int((ma == mb).all(axis=1).sum())],
            "kappa": [float(np.ravel(m["mean_kappa"])[0])],
        }
    )
    table = pl.concat([table, total.with_columns(pl.col("kappa").cast(pl.Float64))])
    ga = la.group_by("response_id").agg(pl.col("code_id").unique().sort().alias("ca"))
    gb = lb.group_by("response_id").agg(pl.col("code_id").unique().sort().alias("cb"))
    both = (
        pl.DataFrame({"response_id": ids})
        .join(ga, on="response_id", how="left")
        .join(gb, on="response_id", how="left")
        .filter(pl.col("ca") != pl.col("cb"))
        .with_columns(
            pl.col("ca").list.join("; ").alias(f"codes_{name_a}"),
            pl.col("cb").list.join("; ").alias(f"codes_{name_b}"),
            pl.col("ca").list.set_difference("cb").list.join("; ").alias(f"only_{name_a}"),
            pl.col("cb").list.set_difference("ca").list.join("; ").alias(f"only_{name_b}"),
        )
        .drop("ca", "cb")
    )
    return table, both
