"""Embedders and the DuckDB embedding cache."""

import duckdb
import numpy as np
import pytest

from pipeline.core.embed import (
    EmbeddingCache,
    HashingEmbedder,
    text_hash,
)


def test_hashing_embedder_is_deterministic_and_normalised():
    e = HashingEmbedder()
    a = e.encode(["more funding", "talk to each other"])
    assert a.dtype == np.float32 and a.shape == (2, 512)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert np.array_equal(a, HashingEmbedder().encode(["more funding", "talk to each other"]))


def test_cache_computes_only_missing_and_counts():
    cache = EmbeddingCache(duckdb.connect())
    e = HashingEmbedder()
    first = cache.embed(["a b", "c d", "a  b"], e)  # "a  b" normalises to "a b"
    assert (cache.computed, cache.reused) == (2, 0)
    again = cache.embed(["c d", "a b", "a b"], e)
    assert (cache.computed, cache.reused) == (2, 2)
    assert np.array_equal(first[0], again[1]) and np.array_equal(first[2], again[1])
    assert text_hash("a  b\n") == text_hash("a b")


def test_a_different_model_id_never_reuses_vectors():
    cache = EmbeddingCache(duckdb.connect())
    cache.embed(["hello"], HashingEmbedder(512))
    cache.embed(["hello"], HashingEmbedder(256))
    assert (cache.computed, cache.reused) == (2, 0)


@pytest.mark.model
def test_bundled_model_id_encodes_weights_and_order_is_restored(model):
    assert model.model_id.startswith("all-MiniLM-L6-v2@sha256:")
    texts = [
        "a much longer sentence about funding for youth services in schools",
        "hi",
        "talk to each other",
    ]
    v = model.encode(texts)
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    single = model.encode(["hi"])[0]
    assert np.allclose(v[1], single, atol=1e-5)


@pytest.mark.model
def test_model_puts_paraphrases_closer_than_unrelated(model):
    v = model.encode(
        [
            "services should communicate better",
            "agencies need to talk to each other",
            "ring-fenced money for youth clubs",
        ]
    )
    assert v[0] @ v[1] > v[0] @ v[2]
