"""Draft frames name codes by what answers are about, and saturation counts codes, not groups."""

import numpy as np
import polars as pl

from pipeline.joq import discover as disc
from pipeline.joq import groups as grp
from pipeline.joq.frames import Frame, Taxonomy
from tools.eval import drafts


def test_words_with_no_theme_for_the_question_are_not_terms():
    texts = [
        "Young people need more funding for youth clubs",
        "Youth workers want funding, young people agree",
        "Schools should talk to young people and youth workers",
        "Talk to schools about young people",
    ]
    labels = np.array([0, 0, 1, 1])
    stop = disc.no_theme_words("What should schools do for young people?")
    assert {"schools", "young people", "youth", "should"} <= set(stop)
    terms = grp.ctfidf_terms(texts, labels, stop_words=stop)
    every = {t for ts in terms.values() for t in ts}
    assert not every & {"young", "people", "youth", "young people", "schools"}
    assert terms[0][0] == "funding" and "talk" in terms[1]
    before = grp.ctfidf_terms(texts, labels)
    assert "young people" in {t for ts in before.values() for t in ts}  # what it used to say


def test_contraction_stubs_are_never_terms():
    terms = grp.ctfidf_terms(["I didn't get food", "don't know, food was cold"], np.array([0, 0]))
    assert "didn" not in terms[0] and "don" not in terms[0] and terms[0][0] == "food"


def test_saturation_counts_codes_a_person_would_need():
    rng = np.random.default_rng(0)
    centres = np.eye(16)[:5]  # five well-separated themes, ten answers each
    emb = np.repeat(centres, 10, axis=0) + 0.05 * rng.normal(size=(50, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    curve = disc.saturation_curve(emb, seed=1, batch=8)
    assert curve["codes_seen"].to_list()[-1] == 5
    assert curve["new_codes"].sum() == 5 and curve["new_codes"].to_list()[-1] == 0
    lonely = np.vstack([emb, np.eye(16)[10:11]])  # one answer unlike any other
    last = disc.saturation_curve(lonely, seed=1).row(-1, named=True)
    assert last["codes_seen"] == 5 and last["singletons_seen"] == 1


def test_definition_quotes_a_central_answer_and_label_uses_its_words():
    named = disc.central_terms(["cuts", "funding", "money"], ["Funding and money please"])
    assert named == ["funding", "money", "cuts"]
    d = disc.draft_definition(named, ["Funding and money please " + "x " * 100])
    assert d.startswith("DRAFT - apply when the answer is about funding, money, cuts")
    example = d.split('"')[1]
    assert example.startswith("Funding and money please") and example.endswith("...")
    assert len(example) <= 160 and d.endswith("(edit me)")


def test_discover_draft_is_written_from_the_question_context():
    texts = [f"more funding for clubs {i}" for i in range(6)] + [
        f"talk to schools please {i}" for i in range(6)
    ]
    sample = pl.DataFrame({"response_id": [f"R{i:02d}" for i in range(12)], "text": texts})
    noise = 0.05 * np.random.default_rng(2).normal(size=(12, 8))
    emb = np.vstack([np.eye(8)[0]] * 6 + [np.eye(8)[1]] * 6) + noise
    tax = Taxonomy.model_validate(
        {"version": 1, "themes": [{"id": "t", "label": "T"}, {"id": "other", "label": "Other"}]}
    )
    frame = Frame.model_validate(
        {
            "month": "2025-01",
            "question": "What would help clubs?",
            "codes": [{"id": "other", "label": "Other", "theme": "other"}],
        }
    )
    d = disc.discover(sample, emb, np.ones((2, 8)), tax, "2025-01", 3, None, frame, 2, 3)
    labels = [c["label"] for c in d.draft["codes"]]
    assert all("clubs" not in lab.lower() for lab in labels)  # a question word
    assert "# Saturation:" in disc.draft_yaml(d)


def test_one_to_one_mapping_counts_mutual_majorities():
    groups = [0, 0, 0, 1, 1, 2, 2, 2]
    codes = [frozenset({c}) for c in ["a", "a", "b", "b", "b", "a", "a", "a"]]
    # group 0 -> a, but a's answers are mostly in group 2; group 1 <-> b; group 2 <-> a
    assert drafts.one_to_one(groups, codes) == [(1, "b"), (2, "a")]


def test_a_very_large_other_queue_scores_k_on_a_seeded_sample_and_groups_every_answer(
    monkeypatch,
):
    import sklearn.metrics

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3, 8))
    emb = np.vstack([c + 0.1 * rng.normal(size=(40, 8)) for c in centres])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    full = grp.group(emb, 2, 4, seed=1)
    seen = []
    real = sklearn.metrics.silhouette_score

    def spy(x, labels, **kw):
        seen.append(kw.get("sample_size"))
        return real(x, labels, **kw)

    monkeypatch.setattr(sklearn.metrics, "silhouette_score", spy)
    monkeypatch.setattr(grp, "SILHOUETTE_SAMPLE", 50)
    a, b = grp.group(emb, 2, 4, seed=1), grp.group(emb, 2, 4, seed=1)
    assert set(seen) == {50}  # 120 rows > 50: every k scored on a sample of 50
    assert a.labels.tolist() == b.labels.tolist() and a.silhouette == b.silhouette
    assert len(a.labels) == 120 and a.k == full.k == 3  # three clear clusters found either way
