"""Routing: usable respondents split by route, and each question loop reshaped long.

Grain of ``SurveyData.loops[loop]``: one row per respondent x loop item they interacted with.
Loop question columns lose their item suffix (``purposes_education__referral`` becomes
``purposes__referral`` on the ``education`` row) so one expression serves every item.

``routes`` and ``loops`` are computed when read, not held: nothing downstream keeps them (the
tables engine counts from ``responses``), and at 1M respondents they are copies of about 1 GB
each (a string cell is a 16-byte view however short), which set the run's peak memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import polars as pl

from pipeline.survey.questionnaire import Questionnaire

GATE = "interacted"  # the loop question whose "yes" puts a respondent x item in the long frame
FRONT = ["_respondent", "_row", "_route", "item"]


class Derived(Mapping[str, pl.DataFrame]):
    """A read-only mapping whose frames are derived from ``responses`` on each read."""

    def __init__(
        self,
        keys: list[str],
        make: Callable[[pl.DataFrame, Questionnaire, str], pl.DataFrame],
        responses: pl.DataFrame,
        spec: Questionnaire,
    ) -> None:
        self._keys, self._make, self._responses, self._spec = keys, make, responses, spec

    def __getitem__(self, key: str) -> pl.DataFrame:
        if key not in self._keys:
            raise KeyError(key)
        return self._make(self._responses, self._spec, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class SurveyData:
    spec: Questionnaire
    responses: pl.DataFrame
    routes: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    loops: Mapping[str, pl.DataFrame] = field(default_factory=dict)


def background_columns(spec: Questionnaire) -> list[str]:
    block = spec.model.cleaning.partial_after_block
    return spec.block_columns(block) if block else []


def route_frame(responses: pl.DataFrame, spec: Questionnaire, route: str) -> pl.DataFrame:
    """The usable respondents on one route."""
    return responses.filter(pl.col("_route") == route)


def _stems(spec: Questionnaire, loop: str, item: str) -> dict[str, str]:
    """Mapped column -> its stem (item suffix removed) for one loop item."""
    suffix = f"_{item}"
    out = {}
    for col in spec.columns:
        inst = col.instance
        if inst.item is None or inst.item.code != item or inst.question.loop != loop:
            continue
        out[col.name] = inst.id[: -len(suffix)] + col.name[len(inst.id) :]
    return out


def loop_long(responses: pl.DataFrame, spec: Questionnaire, loop: str) -> pl.DataFrame:
    """One row per respondent x item with ``interacted == yes``, sorted by row then item.

    Built by gathering each output column once from the wide frame in the final order, rather
    than stacking per-item copies and sorting them (which held two copies of the long frame).
    """
    codes = [i.code for i in spec.model.loops[loop].items]
    background = [c for c in background_columns(spec) if c in responses.columns]
    stems = [_stems(spec, loop, code) for code in codes]
    n = responses.height
    rank = {code: r for r, code in enumerate(sorted(codes))}  # the item column's string order
    srcs, ks = [], []
    for k, renames in enumerate(stems):  # which respondents each item keeps
        gate = next((src for src, stem in renames.items() if stem == GATE), None)
        keep = (
            (responses[gate] == "yes").fill_null(False).arg_true()
            if gate is not None
            else pl.int_range(0, n, eager=True, dtype=pl.get_index_type())
        )
        srcs.append(keep)
        ks.append(pl.repeat(k, keep.len(), eager=True, dtype=pl.get_index_type()))
    src, k_of = pl.concat(srcs), pl.concat(ks)
    del srcs, ks
    # one integer key, row then item: a single-column sort, no row encoding of two columns
    ranks = k_of.replace_strict({k: rank[c] for k, c in enumerate(codes)}, return_dtype=pl.Int64)
    order = (responses["_row"].gather(src) * len(codes) + ranks).arg_sort()
    del ranks
    src, k_of = src.gather(order), k_of.gather(order)
    del order
    out: dict[str, pl.Series] = {
        "_respondent": responses["_respondent"].gather(src),
        "_row": responses["_row"].gather(src),
        "_route": responses["_route"].gather(src),
        "item": pl.Series("item", codes, dtype=pl.String).gather(k_of),
    }
    for c in background:
        out[c] = responses[c].gather(src)
    at = k_of * n + src  # the cell's position in the items' columns stacked end to end
    for j, stem in enumerate(stems[0].values()):  # every item has the same stems, in order
        # the items' columns end to end, not copied: gathering from the pieces is cheaper
        # pieces end to end, not copied into one (a 96 MB string column per stem at 1M rows)
        stacked = pl.concat([responses[list(renames)[j]] for renames in stems], rechunk=False)
        out[stem] = stacked.gather(at).alias(stem)
    long = pl.DataFrame(out)
    return long.select(FRONT + [c for c in long.columns if c not in FRONT])


def route(usable: pl.DataFrame, spec: Questionnaire) -> SurveyData:
    routes = Derived(list(spec.routes), route_frame, usable, spec)
    loops = Derived(list(spec.model.loops), loop_long, usable, spec)
    return SurveyData(spec, usable, routes, loops)
