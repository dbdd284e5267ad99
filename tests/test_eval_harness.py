"""The coding-quality harness (tools/eval) on a tiny synthetic coded file: no NHS data, no model."""

import numpy as np
import polars as pl
import pytest

from pipeline.core.embed import HashingEmbedder
from tools.eval import harness, methods, months, report, run

TOPICS = {  # code -> words an answer about it uses (synthetic, written for this test)
    "ef": ["the food was cold", "meals were tasty", "more drink choice"],
    "ep": ["parking was hard", "no parking spaces", "transport was late"],
    "ec": ["the ward was clean", "toilets were dirty", "very clean rooms"],
    "ml": ["they listened to me", "nobody listened", "listening staff"],
}


def _coded(questions=("Q1", "Q2"), per_code=15) -> pl.DataFrame:
    rows = []
    for q in questions:
        for code, phrases in TOPICS.items():
            for i in range(per_code):
                rows.append((code, f"{phrases[i % 3]} on visit {i} to {q}", q))
    rows.append(("ef", "the food was cold on visit 0 to Q1", "Q1"))  # a duplicate row
    rows.append(("ep", "the food was cold on visit 0 to Q1", "Q1"))  # coded twice: multi-code
    rows.append(("ss", "staff only once", "Q1"))  # a rare code outside the top codes
    return pl.DataFrame(rows, schema=["code", "feedback", "question"], orient="row")


def _embed():
    e = HashingEmbedder()
    return lambda texts: e.encode(list(texts))


def test_months_keep_top_codes_merge_codings_and_are_seeded():
    a = months.build_months(_coded(), n_answers=40, n_codes=4, seed=1)
    b = months.build_months(_coded(), n_answers=40, n_codes=4, seed=1)
    assert [m.ids for m in a] == [m.ids for m in b]
    q1 = a[0]
    assert q1.codes == ["ec", "ef", "ep", "ml"]  # the 4 most frequent, sorted
    assert all(g <= set(q1.codes) for g in q1.gold.values())  # 'ss' answers left out
    assert len(q1.ids) == 40 and len(set(q1.ids)) == 40
    multi = [t for t, r in zip(q1.texts, q1.ids, strict=True) if len(q1.gold[r]) > 1]
    assert all(t == "the food was cold on visit 0 to Q1" for t in multi)
    assert all(not c.include for c in q1.bare.codes) and any(c.include for c in q1.frame.codes)


def test_unknown_code_in_the_data_is_refused_with_the_file_to_fix():
    coded = _coded().with_columns(pl.lit("zz").alias("code"))
    with pytest.raises(months.InputError, match="no definition"):
        months.build_months(coded, n_codes=1)


def test_perfect_machine_scores_one_and_split_keeps_eval_apart():
    m = months.build_months(_coded(), n_answers=40, n_codes=4, seed=1)[0]
    sp = harness.split(m, 10, seed=3)
    assert len(sp.eval_ids) == 10 and not set(sp.eval_ids) & set(sp.pool)
    perfect = harness.gold_long(m.gold, m.ids)
    got = harness.measure(m.gold, perfect, sp.eval_ids, m.codes, seed=1, resamples=50)
    assert got["macro_f1"] == 1.0 and got["mean_kappa"] == 1.0 and got["alpha"] == 1.0
    assert got["boot"]["macro_f1"].shape == (50,)


def test_whole_run_scores_every_method_size_and_review_round():
    ms = months.build_months(_coded(), n_answers=40, n_codes=4, seed=1)
    tables = run.run(ms, _embed(), eval_size=12, sizes=(8, 16), rounds=1)
    curve = tables["curve"]
    assert curve.height == len(run.METHODS) * 2
    assert set(curve["n_coded"]) == {8, 16} and (curve["months"] == 2).all()
    assert curve["macro_f1"].is_between(0, 1).all()
    assert (curve["macro_f1_lo"] <= curve["macro_f1_hi"]).all()
    loop = tables["loop"]
    assert set(loop["method"]) == set(run.ORDERS)
    assert sorted(set(loop["n_coded"])) == [8, 28]  # 8 coded, then the 20 left in the pool
    # the phrases written from the code names find these synthetic answers
    by = {r["method"]: r for r in curve.filter(pl.col("n_coded") == 16).iter_rows(named=True)}
    assert by["phrases only"]["macro_f1"] > 0.5
    page = report.render(
        "python -m tools.eval.run",
        tables["months"],
        curve,
        loop,
        tables["per_month"],
        {k: v[0] for k, v in run.METHODS.items()},
    )
    assert "## Review loop" in page and "| joinedup |" in page and "Target macro-F1" in page


def test_least_confident_puts_the_lowest_assigned_score_first():
    machine = pl.DataFrame(
        {
            "response_id": ["a", "a", "b", "c"],
            "code_id": ["x", "y", "x", "other"],
            "score": [0.9, 0.4, 0.7, 0.2],
        }
    )
    assert harness.least_confident(machine, ["a", "b", "c", "d"]) == ["d", "c", "a", "b"]


def test_farthest_first_covers_unlike_answers_first():
    vec = {"k": np.array([1.0, 0, 0]), "a": np.array([0.9, 0.1, 0]), "b": np.array([0, 1.0, 0])}
    vec["c"] = np.array([0, 0, 1.0])
    got = harness.farthest_first(pl.DataFrame(), ["a", "b", "c"], ["k"], vec, n=2)
    assert got[2] == "a" and set(got[:2]) == {"b", "c"}


def test_missing_data_file_skips_with_a_message(tmp_path, capsys):
    assert run.main(["--data", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "x.md")]) == 0
    assert "eval-real skipped" in capsys.readouterr().out
    assert not (tmp_path / "x.md").exists()


def test_methods_share_one_signature():
    m = months.build_months(_coded(), n_answers=40, n_codes=4, seed=1)[0]
    inputs = harness.month_inputs(m, _embed(), seed=1)
    training = {r: m.gold[r] for r in m.ids[:12]}
    for name, (_, method, _phr) in run.METHODS.items():
        out = method(inputs, training)
        assert set(out.machine["response_id"]) == set(m.ids), name
        assert out.seconds >= 0
    assert isinstance(methods.zero_shot()(inputs, {}).machine, pl.DataFrame)


def test_draft_rows_compare_discover_with_the_human_codes():
    ms = months.build_months(_coded(), n_answers=40, n_codes=4, seed=1)
    rows = run.draft_rows(ms, _embed(), ref_dir=None, sizes=(20,), eval_size=12)
    assert rows.height == 2 and (rows["answers"] == 20).all()
    assert (rows["one_to_one"] <= rows["draft_codes"]).all()
    page = report.draft_section(rows)
    assert any("one-to-one" in line for line in page)


def test_earlier_months_are_the_other_months_coded_answers_never_this_months_eval_texts():
    ms = months.build_months(_coded(), n_answers=40, n_codes=4, seed=1)
    splits = {m.name: harness.split(m, 12, seed=3) for m in ms}
    q1, q2 = ms
    texts, labels = harness.earlier_months(q1, ms, splits, n=20)
    q2_text = dict(zip(q2.ids, q2.texts, strict=True))
    assert texts == [q2_text[r] for r in splits[q2.name].pool[:20]]  # all codes shared here
    assert labels == [q2.gold[r] for r in splits[q2.name].pool[:20]]
    assert not set(texts) & set(q1.texts)  # never this month's own answers
    # an earlier answer with the same text as one of this month's eval answers is left out
    q1_eval = {t for r, t in zip(q1.ids, q1.texts, strict=True) if r in splits[q1.name].eval_ids}
    first = q2.ids.index(splits[q2.name].pool[0])  # an answer the earlier month coded
    same = next(iter(q1_eval))
    twin_texts = [same if k == first else t for k, t in enumerate(q2.texts)]
    twin = months.Month("Q2", q2.ids, twin_texts, q2.gold, q2.frame, q2.bare)
    kept, _ = harness.earlier_months(q1, [q1, twin], splits, n=20)
    assert same not in kept and len(kept) == 19
