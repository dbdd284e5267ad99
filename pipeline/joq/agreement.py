"""Agreement between machine codes and a human-coded (gold) set, with bootstrap intervals.

Why these measures: per-code precision/recall/F1 say where the machine over- or under-codes;
Cohen's kappa per code corrects each code's agreement for chance; Krippendorff's alpha (nominal)
over the answer x code binary matrix gives one chance-corrected figure for the whole frame.
Everything is computed from per-answer counts, so 1,000 bootstrap resamples (of answers, seeded)
are a few matrix products.

Why not ``sklearn.metrics`` / ``krippendorff``: they take one resample per call; 1,000 resamples
of a 196-answer, 9-code month take about 50-60 s that way against under 0.1 s here
(``python -m tools.benchmarks.agreement_bootstrap``), and the point estimate must come from the
same arithmetic as its interval (sklearn's kappa differs in the last bit, which would change
``agreement.csv``). The tests check these measures against sklearn and krippendorff.

Conventions: a code with no gold and no machine answers in the set is left out of the per-code
table. Precision with no machine answers, recall with no gold answers, and kappa when both coders
are constant (expected agreement 1) are undefined (NaN) and skipped by macro-F1 / mean kappa.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def binary_matrix(long: pl.DataFrame, ids: Sequence[str], codes: Sequence[str]) -> np.ndarray:
    """``long`` (response_id, code_id) to an answers x codes 0/1 matrix in the given orders."""
    pos = {r: i for i, r in enumerate(ids)}
    col = {c: j for j, c in enumerate(codes)}
    m = np.zeros((len(ids), len(codes)), dtype=np.int8)
    for rid, cid in long.select("response_id", "code_id").iter_rows():
        if rid in pos and cid in col:
            m[pos[rid], col[cid]] = 1
    return m


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> dict:
    """Per-code measures from count arrays of shape (..., C); works for one set or B resamples."""
    n = tp + fp + fn + tn
    precision = _div(tp, tp + fp)
    recall = _div(tp, tp + fn)
    f1 = _div(2 * tp, 2 * tp + fp + fn)
    po = _div(tp + tn, n)
    pe = _div((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn), n * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(pe < 1 - 1e-12, (po - pe) / (1 - pe), np.nan)
    # Krippendorff's alpha, nominal, two coders, no missing values, over all answer x code cells:
    # alpha = 1 - (N_v - 1) * D / (n0 * n1), N_v = 2 x cells, D = disagreeing cells,
    # n0 / n1 = how many of the 2 x cells values are 0 / 1.
    cells = n.sum(axis=-1)
    dis = (fp + fn).sum(axis=-1)
    ones = (2 * tp + fp + fn).sum(axis=-1)
    zeros = 2 * cells - ones
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(ones * zeros > 0, 1 - (2 * cells - 1) * dis / (ones * zeros), np.nan)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "kappa": kappa,
        "alpha": alpha,
        "macro_f1": _nanmean(f1),
        "mean_kappa": _nanmean(kappa),
    }


def _nanmean(x: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok.any(axis=-1), np.where(ok, x, 0).sum(axis=-1) / ok.sum(axis=-1), np.nan)


def measures(gold: np.ndarray, machine: np.ndarray, weights: np.ndarray | None = None) -> dict:
    """Measures for one set (``weights`` None) or for B resamples (``weights`` B x n counts)."""
    g = gold.astype(np.float64)
    m = machine.astype(np.float64)
    w = np.ones((1, g.shape[0])) if weights is None else weights.astype(np.float64)
    tp, fp = w @ (g * m), w @ ((1 - g) * m)
    fn, tn = w @ (g * (1 - m)), w @ ((1 - g) * (1 - m))
    out = _from_counts(tp, fp, fn, tn)
    return {k: v[0] for k, v in out.items()} if weights is None else out


def bootstrap_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """B x n counts: how many times each answer is drawn in each resample (with replacement)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    w = np.zeros((resamples, n), dtype=np.int32)
    np.add.at(w, (np.repeat(np.arange(resamples), n), draws.ravel()), 1)
    return w


def _ci(x: np.ndarray) -> tuple[float, float]:
    """2.5th and 97.5th percentiles over resamples, ignoring undefined ones."""
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(x, [2.5, 97.5])
    return float(lo), float(hi)


def agreement_table(
    gold_long: pl.DataFrame,
    machine_long: pl.DataFrame,
    ids: Sequence[str],
    codes: Sequence[str],
    resamples: int = 1000,
    seed: int = 20250131,
) -> pl.DataFrame:
    """Tidy per-code table plus an ``overall`` row (macro-F1 in f1, mean kappa in kappa, alpha)."""
    ids = sorted(set(ids))
    gold = binary_matrix(gold_long, ids, codes)
    mach = binary_matrix(machine_long, ids, codes)
    keep = [j for j in range(len(codes)) if gold[:, j].any() or mach[:, j].any()]
    codes = [codes[j] for j in keep]
    gold, mach = gold[:, keep], mach[:, keep]
    point = measures(gold, mach)
    boot = measures(gold, mach, bootstrap_weights(len(ids), resamples, seed)) if ids else None
    rows = []
    for j, code in enumerate(codes):
        row = {
            "code": code,
            "n_answers": len(ids),
            "n_gold": int(gold[:, j].sum()),
            "n_machine": int(mach[:, j].sum()),
        }
        for k in ("precision", "recall", "f1", "kappa"):
            row[k] = float(point[k][j])
            lo, hi = _ci(boot[k][:, j]) if boot else (np.nan, np.nan)
            row[f"{k}_ci_low"], row[f"{k}_ci_high"] = lo, hi
        row["alpha"] = row["alpha_ci_low"] = row["alpha_ci_high"] = float("nan")
        rows.append(row)
    overall = {
        "code": "overall",
        "n_answers": len(ids),
        "n_gold": int(gold.sum()),
        "n_machine": int(mach.sum()),
    }
    tp, fp, fn = ((gold * mach).sum(), ((1 - gold) * mach).sum(), (gold * (1 - mach)).sum())
    overall["precision"] = float(tp / (tp + fp)) if tp + fp else float("nan")  # micro
    overall["recall"] = float(tp / (tp + fn)) if tp + fn else float("nan")  # micro
    overall["precision_ci_low"] = overall["precision_ci_high"] = float("nan")
    overall["recall_ci_low"] = overall["recall_ci_high"] = float("nan")
    for name, key in (("f1", "macro_f1"), ("kappa", "mean_kappa"), ("alpha", "alpha")):
        overall[name] = float(point[key])
        lo, hi = _ci(boot[key]) if boot else (np.nan, np.nan)
        overall[f"{name}_ci_low"], overall[f"{name}_ci_high"] = lo, hi
    rows.append(overall)
    return pl.DataFrame(rows).with_columns(
        pl.lit(resamples).alias("resamples"), pl.lit(seed).alias("seed")
    )


def summary(table: pl.DataFrame) -> dict:
    """The overall row as a dict (macro_f1, mean_kappa, alpha and their intervals)."""
    o = table.filter(pl.col("code") == "overall").row(0, named=True)
    return {
        "n_answers": o["n_answers"],
        "macro_f1": o["f1"],
        "macro_f1_ci": (o["f1_ci_low"], o["f1_ci_high"]),
        "mean_kappa": o["kappa"],
        "mean_kappa_ci": (o["kappa_ci_low"], o["kappa_ci_high"]),
        "alpha": o["alpha"],
        "alpha_ci": (o["alpha_ci_low"], o["alpha_ci_high"]),
    }
