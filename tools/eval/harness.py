"""The coding-quality experiment: same months, same splits, same embeddings, every method.

Why this design: a month's answers are split once (seeded) into a fixed eval set, looked at only
to score, and a pool from which human-coded answers are drawn: the first 24, 36, 60, 100 of the
pool in a seeded random order (nested, as a coder's sample grows). The review loop is simulated on
the same pool: start from 24 random coded answers, then each round a coder codes 30 more (their
gold codes become decisions) chosen by the review queue's order, or at random as the control, and
the month is re-coded. Agreement is always on the same eval set, with bootstrap intervals; the
mean over months has an interval from the same resamples averaged across months.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipeline.joq import agreement as agr
from pipeline.joq.frames import OTHER
from tools.eval.methods import Embed, Method, MonthInputs
from tools.eval.months import Month

TRAIN_SIZES = (24, 36, 60, 100)
ROUND = 30
RESAMPLES = 1000

# How a review queue orders the undecided answers: (machine long table, candidate ids, ids already
# coded, embedding per id) -> candidate ids, first to review first.
Order = Callable[[pl.DataFrame, Sequence[str], Sequence[str], Mapping[str, np.ndarray]], list[str]]


@dataclass(frozen=True)
class Split:
    eval_ids: list[str]
    pool: list[str]  # seeded random order: training prefixes and the random-review control


@dataclass
class Score:
    month: str
    method: str
    n_coded: int
    macro_f1: float
    mean_kappa: float
    alpha: float
    seconds: float
    boot: dict[str, np.ndarray] = field(repr=False, default_factory=dict)


def split(month: Month, eval_size: int, seed: int) -> Split:
    order = np.random.default_rng(seed).permutation(len(month.ids))
    ids = [month.ids[i] for i in order]
    return Split(sorted(ids[:eval_size]), ids[eval_size:])


def gold_long(gold: Mapping[str, frozenset[str]], ids: Sequence[str]) -> pl.DataFrame:
    rows = [(r, c) for r in ids for c in sorted(gold[r])]
    return pl.DataFrame(rows, schema=["response_id", "code_id"], orient="row")


def measure(
    gold: Mapping[str, frozenset[str]],
    machine: pl.DataFrame,
    eval_ids: Sequence[str],
    codes: Sequence[str],
    seed: int,
    resamples: int = RESAMPLES,
) -> dict:
    """Point macro-F1 / mean kappa / alpha on the eval answers plus their bootstrap replicates
    (codes with no gold and no machine answer in the set are left out, as in ``joq agreement``)."""
    codes = [*codes, OTHER]
    g = agr.binary_matrix(gold_long(gold, eval_ids), eval_ids, codes)
    m = agr.binary_matrix(machine, eval_ids, codes)
    keep = g.any(axis=0) | m.any(axis=0)
    g, m = g[:, keep], m[:, keep]
    point = agr.measures(g, m)
    boot = agr.measures(g, m, agr.bootstrap_weights(len(eval_ids), resamples, seed))
    keys = ("macro_f1", "mean_kappa", "alpha")
    return {k: float(point[k]) for k in keys} | {"boot": {k: boot[k] for k in keys}}


History = tuple[list[str], list[frozenset[str]]]


def earlier_months(
    month: Month, others: Sequence[Month], splits: Mapping[str, Split], n: int = TRAIN_SIZES[-1]
) -> History:
    """The "earlier months" of a month: every other month's first ``n`` human-coded answers (a
    coder's monthly effort), codes kept where this month's frame has the same code (the dataset's
    code is the taxonomy theme), answers with none left out. Leave-one-out: never this month's own
    answers, and never an answer whose text equals one of this month's eval answers (short
    answers such as "Very good" recur across questions; they would be scored on their own label)."""
    codes = set(month.codes)
    pos = dict(zip(month.ids, month.texts, strict=True))
    held = {pos[r] for r in splits[month.name].eval_ids}
    texts, labels = [], []
    for o in others:
        if o.name == month.name:
            continue
        text = dict(zip(o.ids, o.texts, strict=True))
        for r in splits[o.name].pool[:n]:
            lab = o.gold[r] & codes
            if lab and text[r] not in held:
                texts.append(text[r])
                labels.append(frozenset(lab))
    return texts, labels


def month_inputs(
    month: Month, embed: Embed, seed: int, phrases: bool = True, history: History = ([], [])
) -> MonthInputs:
    return MonthInputs(
        month.ids,
        month.texts,
        embed(month.texts),
        month.frame if phrases else month.bare,
        embed,
        seed,
        history,
    )


def _score(
    month: Month,
    name: str,
    method: Method,
    inputs: MonthInputs,
    coded: Sequence[str],
    sp: Split,
    seed: int,
) -> tuple[Score, pl.DataFrame]:
    out = method(inputs, {r: month.gold[r] for r in coded})
    m = measure(month.gold, out.machine, sp.eval_ids, month.codes, seed)
    score = Score(
        month.name,
        name,
        len(coded),
        m["macro_f1"],
        m["mean_kappa"],
        m["alpha"],
        out.seconds,
        m["boot"],
    )
    return score, out.machine


def training_curve(
    month: Month,
    methods: Mapping[str, tuple[Method, bool]],
    embed: Embed,
    sp: Split,
    seed: int,
    sizes: Sequence[int] = TRAIN_SIZES,
    history: History = ([], []),
) -> list[Score]:
    """Every method at every training size; ``methods`` maps name -> (method, uses phrases)."""
    inputs = {p: month_inputs(month, embed, seed, p, history) for p in (True, False)}
    out = []
    for n in sizes:
        coded = sp.pool[: min(n, len(sp.pool))]
        for name, (method, phrases) in methods.items():
            out.append(_score(month, name, method, inputs[phrases], coded, sp, seed)[0])
    return out


def review_loop(
    month: Month,
    method: Method,
    orders: Mapping[str, Order | None],
    embed: Embed,
    sp: Split,
    seed: int,
    start: int = TRAIN_SIZES[0],
    per_round: int = ROUND,
    rounds: int = 4,
    history: History = ([], []),
) -> list[Score]:
    """Learning curve of the review loop for each queue order (None = the pool's random order).
    Rounds choose only from the pool: the eval answers are never coded by the simulated coder."""
    inputs = month_inputs(month, embed, seed, history=history)
    vec = dict(zip(month.ids, inputs.emb, strict=True))
    out = []
    for name, order in orders.items():
        coded = list(sp.pool[:start])
        for _ in range(rounds + 1):
            score, machine = _score(month, name, method, inputs, coded, sp, seed)
            out.append(score)
            left = [r for r in sp.pool if r not in set(coded)]
            if not left:
                break
            pick = left[:per_round] if order is None else order(machine, left, coded, vec)
            pick = pick[:per_round]
            coded += pick
    return out


def pooled(scores: Sequence[Score], by: Sequence[str] = ("method", "n_coded")) -> pl.DataFrame:
    """Mean over months per group, with 95% intervals from the months' replicates averaged."""
    groups: dict[tuple, list[Score]] = {}
    for s in scores:
        groups.setdefault(tuple(getattr(s, k) for k in by), []).append(s)
    rows = []
    for key, ss in groups.items():
        row = dict(zip(by, key, strict=True)) | {"months": len(ss)}
        for k in ("macro_f1", "mean_kappa", "alpha"):
            row[k] = float(np.nanmean([getattr(s, k) for s in ss]))
            reps = np.nanmean(np.vstack([s.boot[k] for s in ss]), axis=0)
            reps = reps[~np.isnan(reps)]
            lo, hi = np.percentile(reps, [2.5, 97.5]) if reps.size else (np.nan, np.nan)
            row[f"{k}_lo"], row[f"{k}_hi"] = float(lo), float(hi)
        row["seconds"] = float(np.mean([s.seconds for s in ss]))
        rows.append(row)
    return pl.DataFrame(rows)


def per_month(scores: Sequence[Score]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "month": s.month,
                "method": s.method,
                "n_coded": s.n_coded,
                "macro_f1": s.macro_f1,
                "mean_kappa": s.mean_kappa,
                "alpha": s.alpha,
                "seconds": s.seconds,
            }
            for s in scores
        ]
    )


def _confidence(machine: pl.DataFrame) -> dict[str, float]:
    return dict(machine.group_by("response_id").agg(pl.col("score").min()).iter_rows())


def least_confident(
    machine: pl.DataFrame,
    candidates: Sequence[str],
    coded: Sequence[str] = (),
    vec: Mapping[str, np.ndarray] | None = None,
) -> list[str]:
    """The review sheet's order: lowest assigned score first ('other' rows score 1 - best)."""
    conf = _confidence(machine)
    return sorted(candidates, key=lambda r: (conf.get(r, 0.0), r))


def farthest_first(
    machine: pl.DataFrame,
    candidates: Sequence[str],
    coded: Sequence[str],
    vec: Mapping[str, np.ndarray],
    n: int = ROUND,
) -> list[str]:
    """Coverage: repeatedly the candidate least similar to everything coded or picked so far."""
    cand = list(candidates)
    x = np.vstack([vec[r] for r in cand])
    ref = np.vstack([vec[r] for r in coded]) if coded else np.zeros((0, x.shape[1]))
    near = (x @ ref.T).max(axis=1) if len(ref) else np.full(len(cand), -1.0)
    picked: list[int] = []
    for _ in range(min(n, len(cand))):
        near_m = near.copy()
        near_m[picked] = np.inf
        j = int(np.argmin(near_m))
        picked.append(j)
        near = np.maximum(near, x @ x[j])
    return [cand[j] for j in picked] + [c for k, c in enumerate(cand) if k not in set(picked)]


def uncertain_diverse(
    machine: pl.DataFrame,
    candidates: Sequence[str],
    coded: Sequence[str],
    vec: Mapping[str, np.ndarray],
    n: int = ROUND,
) -> list[str]:
    """The 2n least confident, then farthest-first among them: uncertain and not alike."""
    pool = least_confident(machine, candidates)
    head = farthest_first(machine, pool[: 2 * n], coded, vec, n)
    return head + [r for r in pool if r not in set(head)]


def diagnose(
    month: Month,
    embed: Embed,
    sp: Split,
    seed: int,
    settings: Mapping[str, Mapping[str, object]],
    sizes: Sequence[int] = (TRAIN_SIZES[0], TRAIN_SIZES[-1]),
    history: History = ([], []),
) -> list[dict]:
    """Why a learning curve is flat: per setting and training size, how much of the classifier's
    training weight comes from the people (human-coded answers, earlier months) against the
    phrases' weak labels, how often a phrase hit outscores the model on an eval answer, how many
    eval answers only the fallback codes, and codes per eval answer (machine against gold)."""
    from pipeline.joq import decide, scorers
    from pipeline.joq.frames import Thresholds

    inputs = month_inputs(month, embed, seed, history=history)
    pos = {r: k for k, r in enumerate(month.ids)}
    ev = [pos[r] for r in sp.eval_ids]
    rows = []
    for name, over in settings.items():
        th = Thresholds.model_validate({**month.frame.thresholds.model_dump(), **over})
        for n in sizes:
            training = {r: month.gold[r] for r in sp.pool[:n]}
            inp = scorers.code_inputs(
                inputs.frame, month.ids, month.texts, inputs.emb, embed, training, th
            )
            hist_n = len(history[0]) if th.history_weight > 0 else 0
            if hist_n:
                inp.history_emb, inp.history = embed(history[0]), history[1]
            hits, veto = scorers.phrase_scores(inp.texts, inp.include, inp.exclude, 1.0)
            weak = scorers.pseudo_labels(inp, hits > 0, veto) if th.pseudo_weight > 0 else {}
            trust = (
                dict(
                    zip(
                        inp.codes,
                        scorers.phrase_trust(inp, hits > 0, veto, th.phrase_trust_prior),
                        strict=True,
                    )
                )
                if th.phrase_trust_prior > 0
                else {}
            )
            weak_w = sum(
                th.pseudo_weight * min(trust.get(c, 1.0) for c in cs) for cs in weak.values()
            )
            s = scorers.score(inp, th, seed)
            few = s.fewshot[ev]
            sim = s.similarity[ev]
            blend = np.where(
                np.isnan(few),
                sim,
                th.fewshot_weight * np.nan_to_num(few) + (1 - th.fewshot_weight) * sim,
            )
            machine = decide.decide(s, inp.codes, month.ids, th)
            me = machine.filter(pl.col("response_id").is_in(sp.eval_ids))
            rows.append(
                {
                    "month": month.name,
                    "setting": name,
                    "n_coded": n,
                    "human_weight": float(n + th.history_weight * hist_n),
                    "weak_labels": len(weak),
                    "weak_weight": float(weak_w),
                    "phrase_over_model": int((s.phrase[ev] > blend).any(axis=1).sum()),
                    "fallback_answers": int(
                        me.filter(pl.col("method") == "fallback")["response_id"].n_unique()
                    ),
                    "machine_codes_per_answer": me.filter(pl.col("code_id") != OTHER).height
                    / len(ev),
                    "gold_codes_per_answer": sum(len(month.gold[r]) for r in sp.eval_ids) / len(ev),
                }
            )
    return rows
