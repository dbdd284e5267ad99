"""Agreement math on small hand-computed cases."""

import numpy as np
import polars as pl
import pytest

from pipeline.joq import agreement as agr


def test_perfect_agreement_gives_kappa_and_alpha_one():
    g = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    m = agr.measures(g, g.copy())
    assert m["kappa"].tolist() == [1.0, 1.0]
    assert m["f1"].tolist() == [1.0, 1.0]
    assert m["alpha"] == pytest.approx(1.0)


def test_known_confusion_matrix_gives_known_kappa():
    # tp=20, fn=5, fp=10, tn=15 (n=50): po=0.7, pe=(30*25+20*25)/2500=0.5, kappa=0.4
    gold = np.array([1] * 20 + [1] * 5 + [0] * 10 + [0] * 15)[:, None]
    mach = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)[:, None]
    m = agr.measures(gold, mach)
    assert m["kappa"][0] == pytest.approx(0.4)
    assert m["precision"][0] == pytest.approx(20 / 30)
    assert m["recall"][0] == pytest.approx(20 / 25)


def test_alpha_matches_krippendorff_package():
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(1)
    g = rng.integers(0, 2, (40, 5))
    m = np.where(rng.random((40, 5)) < 0.8, g, 1 - g)
    expected = krippendorff.alpha(
        reliability_data=np.vstack([g.ravel(), m.ravel()]), level_of_measurement="nominal"
    )
    assert agr.measures(g, m)["alpha"] == pytest.approx(expected)


def test_per_code_measures_match_sklearn_metrics_also_for_weighted_resamples():
    from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

    rng = np.random.default_rng(3)
    g = rng.integers(0, 2, (60, 4))
    m = np.where(rng.random((60, 4)) < 0.8, g, 1 - g)
    w = agr.bootstrap_weights(60, 3, 11)
    ours = agr.measures(g, m, w)
    for b in range(3):
        p, r, f, _ = precision_recall_fscore_support(g, m, average=None, sample_weight=w[b])
        assert ours["precision"][b] == pytest.approx(p)
        assert ours["recall"][b] == pytest.approx(r)
        assert ours["f1"][b] == pytest.approx(f)
        kappa = [cohen_kappa_score(g[:, j], m[:, j], sample_weight=w[b]) for j in range(4)]
        assert ours["kappa"][b] == pytest.approx(kappa)


def test_table_is_tidy_seeded_and_has_overall_row():
    gold = pl.DataFrame({"response_id": ["a", "b", "c", "d"], "code_id": ["x", "y", "x", "y"]})
    mach = pl.DataFrame({"response_id": ["a", "b", "c", "d"], "code_id": ["x", "y", "y", "y"]})
    t1 = agr.agreement_table(gold, mach, ["a", "b", "c", "d"], ["x", "y", "z"], 200, 7)
    t2 = agr.agreement_table(gold, mach, ["a", "b", "c", "d"], ["x", "y", "z"], 200, 7)
    assert t1.equals(t2)
    assert t1["code"].to_list() == ["x", "y", "overall"]  # z: no gold, no machine -> left out
    assert {
        "n_gold",
        "n_machine",
        "precision",
        "recall",
        "f1",
        "kappa",
        "f1_ci_low",
        "kappa_ci_high",
    } <= set(t1.columns)
    assert t1.filter(pl.col("code") == "x")["recall"][0] == pytest.approx(0.5)
