"""The discovery sample must match the documented algorithm exactly."""

import numpy as np
import polars as pl
import pytest

from pipeline.core.errors import InputError
from pipeline.joq import sampling


def test_simple_sample_is_the_documented_algorithm():
    ids = [f"R{i:03d}" for i in range(100, 0, -1)]  # unsorted on purpose
    got = sampling.simple_sample(ids, 24, 20250131)
    ordered = sorted(ids)
    idx = np.random.default_rng(20250131).choice(len(ordered), size=24, replace=False)
    assert got == sorted(ordered[i] for i in idx)
    assert got == sampling.simple_sample(ids, 24, 20250131)


def test_sample_larger_than_population_is_an_input_error():
    with pytest.raises(InputError):
        sampling.simple_sample(["a", "b"], 3, 1)


def test_stratified_sample_is_proportional():
    usable = pl.DataFrame(
        {
            "response_id": [f"R{i:02d}" for i in range(40)],
            "sectors": [["all"]] * 20
            + [["education"]] * 10
            + [["housing"]] * 6
            + [["education", "housing"]] * 4,
        }
    )
    got = sampling.draw_sample(usable, 10, 5, "sector")
    keys = dict(zip(usable["response_id"], usable["sectors"], strict=True))
    strata = [sampling.stratum(keys[r]) for r in got]
    assert len(got) == 10
    assert strata.count("all") == 5 and strata.count("education") == 3
    assert sampling.allocate({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
