"""JOQ coding at scale: answers embedded per second through the pipeline's cache vs the model alone.

For each size: ``SentenceTransformer.encode`` on the texts (the floor), then
``EmbeddingCache.embed`` with ``SentenceTransformerEmbedder`` into a fresh DuckDB (cold), then the
same call again (warm: everything from the cache). Run in a subprocess per size for peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _model():
    from pipeline.core.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(device="cpu")


def measure(n: int, floor: bool = True) -> dict[str, float | None]:
    """``floor=False`` (the 50,000-answer run, minutes of CPU) skips encoding everything twice:
    throughput, peak memory and the warm re-run are measured through the pipeline only."""
    import duckdb

    from pipeline.core.embed import EmbeddingCache
    from tools.benchmarks.data_gen import joq_texts

    texts = joq_texts(n)
    emb = _model()
    model = emb._load()
    model.encode(texts[:64], batch_size=emb.batch_size)  # warm up threads and kernels
    plain = None
    if floor:
        t0 = time.perf_counter()
        model.encode(
            texts, batch_size=emb.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        plain = time.perf_counter() - t0
    cache = EmbeddingCache(duckdb.connect(":memory:"))
    t0 = time.perf_counter()
    cache.embed(texts, emb)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    cache.embed(texts, emb)
    warm = time.perf_counter() - t0
    return {
        "n": n,
        "encode_s": plain,
        "cold_s": cold,
        "warm_s": warm,
        "encode_per_s": n / plain if plain else None,
        "pipeline_per_s": n / cold,
        "ratio": plain / cold if plain else None,
        "warm_over_cold": warm / cold,
    }


def tune(n: int = 512) -> list[dict[str, float]]:
    """Batch size x length sorting on ``n`` answers (plain encode, same model)."""
    from tools.benchmarks.data_gen import joq_texts

    texts = joq_texts(n)
    model = _model()._load()
    model.encode(texts[:64])
    rows = []
    for batch in (16, 32, 64, 128):
        for sort in (True, False):
            ordered = sorted(texts, key=len) if sort else texts
            t0 = time.perf_counter()
            model.encode(ordered, batch_size=batch, show_progress_bar=False)
            rows.append({"batch": batch, "sorted": sort, "per_s": n / (time.perf_counter() - t0)})
    return rows


def main() -> None:
    what = sys.argv[1]
    if what == "tune":
        out = {"tune": tune()}
    else:
        out = measure(int(what), floor="--no-floor" not in sys.argv)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
