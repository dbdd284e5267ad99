"""Unit tests for the coder's scorer chain and the cross-validation that tunes it (no model)."""

import numpy as np

from pipeline.joq import decide, scorers, tune
from pipeline.joq.frames import OTHER, Thresholds


def test_sentences_split_only_multi_sentence_answers():
    assert scorers.sentences("Fund youth work properly") == []
    assert scorers.sentences("More funding please. And talk to schools!") == [
        "More funding please.",
        "And talk to schools!",
    ]
    assert scorers.sentences("Money. Talk to schools more often") == []  # short part dropped


def test_segment_table_and_max_over_segments():
    owner, segs = scorers.segment_table(["one two three. four five six", "just one here"])
    assert owner.tolist() == [0, 0] and len(segs) == 2
    whole = np.array([[0.2, np.nan], [0.5, 0.1]])
    seg = np.array([[0.9, 0.3], [0.1, 0.2]])
    out = scorers.max_over_segments(whole, seg, owner, 0.5)
    assert np.allclose(out[0], [0.45, 0.15]) and np.allclose(out[1], [0.5, 0.1])
    assert np.array_equal(scorers.max_over_segments(whole, seg, owner, 0.0), whole, equal_nan=True)


def test_features_append_scaled_similarities_only_when_asked():
    emb, sim = np.ones((2, 3)), np.full((2, 2), 0.5)
    assert scorers.features(emb, sim, Thresholds()).shape == (2, 3)
    x = scorers.features(emb, sim, Thresholds(proto_weight=2.0))
    assert x.shape == (2, 5) and np.allclose(x[:, 3:], 1.0)


def _inputs(n=24, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.eye(8)[:2]
    lab = np.arange(n) % 2
    emb = centres[lab] + 0.1 * rng.normal(size=(n, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids = [f"R{i:02d}" for i in range(n)]
    codes = ["a", "b"]
    training = {ids[i]: frozenset({codes[lab[i]]}) for i in range(n)}
    return scorers.CodeInputs(
        ids,
        ["x"] * n,
        emb,
        codes,
        centres.copy(),
        [np.zeros((0, 8)), np.zeros((0, 8))],
        [[], []],
        [[], []],
        [[], []],
        training,
    )


def test_pooled_cross_validation_scores_every_grid_point_and_is_deterministic():
    inp = _inputs()
    grid = {"accept": (0.5, 0.9), "fewshot_weight": (1.0,)}
    a = tune.cross_validate(inp, Thresholds(phrase_score=0.0), 7, 4, grid)
    b = tune.cross_validate(inp, Thresholds(phrase_score=0.0), 7, 4, grid)
    assert a.height == 2 and a.equals(b)
    assert a["cv_macro_f1"][0] > 0.9  # separable toy data
    assert {"cv_macro_f1", "cv_mean_kappa"} <= set(a.columns)


def test_decide_emits_other_when_nothing_clears_fallback():
    s = scorers.Scores(
        *(np.zeros((1, 2)),) * 2, np.zeros((1, 2)), np.full((1, 2), np.nan), np.array([[0.2, 0.1]])
    )
    out = decide.decide(s, ["a", "b"], ["R1"], Thresholds(fallback=0.3))
    assert out["code_id"].to_list() == [OTHER]


def test_code_inputs_embed_sentences_only_when_sentence_scoring_is_on():
    from pipeline.joq.frames import Frame

    frame = Frame.model_validate(
        {
            "month": "2025-01",
            "codes": [
                {"id": "money", "label": "Money", "theme": "t"},
                {"id": "other", "label": "Other", "theme": "other"},
            ],
        }
    )
    texts = ["More money please now. And talk to schools more!", "Funding"]
    seen: list[str] = []

    def embed(ts):
        seen.extend(ts)
        return np.ones((len(ts), 4))

    off = scorers.code_inputs(frame, ["a", "b"], texts, np.ones((2, 4)), embed, {})
    assert off.seg_emb is None and seen == ["Money. "]  # the definition only
    seen.clear()
    on = scorers.code_inputs(
        frame, ["a", "b"], texts, np.ones((2, 4)), embed, {}, Thresholds(sentence_weight=0.5)
    )
    assert on.seg_owner.tolist() == [0, 0] and len(seen) == 3


def test_phrase_trust_is_the_smoothed_share_of_phrase_hits_the_people_agree_with():
    inp = _inputs(n=6)
    # code a's phrase fired on 4 human-coded answers, the people gave a to 2 of them
    hits = np.zeros((6, 2), bool)
    hits[[0, 1, 2, 3], 0] = True
    lab = {inp.ids[i]: frozenset({"a" if i in (0, 2) else "b"}) for i in range(6)}
    inp.training = lab
    veto = np.zeros_like(hits)
    assert np.allclose(scorers.phrase_trust(inp, hits, veto, 2.0), [(2 + 2) / (4 + 2), 1.0])
    assert np.allclose(scorers.phrase_trust(inp, hits, veto, 0.0), [0.5, 1.0])


def test_earlier_months_are_training_rows_only_when_history_weight_is_on():
    inp = _inputs(n=8)
    inp.training = {}  # no human-coded answer this month: the earlier months alone train
    inp.history_emb = inp.emb.copy()
    inp.history = [frozenset({"a" if i % 2 == 0 else "b"}) for i in range(8)]
    x_hist = scorers.history_features(inp, Thresholds(history_weight=0.5))
    few, _ = scorers.fewshot_scores(inp, Thresholds(history_weight=0.5), 0, {}, x_history=x_hist)
    assert not np.isnan(few).any() and (few[0::2, 0] > few[0::2, 1]).all()
    assert scorers.history_features(inp, Thresholds(history_weight=0.0)) is None
    off, _ = scorers.fewshot_scores(inp, Thresholds(history_weight=0.0), 0, {}, x_history=None)
    assert np.isnan(off).all()
