"""Default tables for any questionnaire: one per closed question, Likert nets, one banner crosstab.

Used by ``survey init`` to draft ``tables.yaml``. Bases follow the survey convention for a
question every respondent was asked: those who answered it (``base: answered``), so item
non-response is never counted as "not selected". Multi-select questions are multi-response tables
(percentages of those who ticked anything, not summing to 100). Thresholds (low base 30,
suppression under 10) are the ``tables.yaml`` defaults, written out so they can be changed.
"""

from __future__ import annotations

from typing import Any

from pipeline.survey.questionnaire import Question, Questionnaire

POPULATION = {"label": "all usable respondents"}
BASE_TEXT = "all usable respondents who answered the question"


def default_tables(
    spec: Questionnaire, *, banner: str | None = None, source: str = ""
) -> dict[str, Any]:
    """The draft ``tables.yaml`` content (a plain dict, validated when loaded back)."""
    tables: list[dict[str, Any]] = []
    note = source or f"Draft table from {spec.path.name}, inferred by survey init."
    for q in spec.model.questions:
        if q.type not in ("single", "likert", "multi"):
            continue
        tables.append(_table(len(tables) + 1, q, _statistic(q), note))
        if q.type == "likert" and spec.nets(q):
            net = _table(len(tables) + 1, q, "likert_net", note)
            net["title"] = f"{q.text} (nets)"
            net["exclusive"] = False  # nets overlap nothing but need not add up to the base
            tables.append(net)
    if banner:
        for q in spec.model.questions:
            if q.type not in ("single", "likert", "multi") or q.id == banner:
                continue
            t = _table(len(tables) + 1, q, "crosstab", note)
            t["measure"] = _statistic(q)
            t["group_by"] = [banner]
            t["base_text"] = "usable respondents answering '{item}' who answered the question"
            t["title"] = f"{q.text} — by {spec.question(banner).text}"
            tables.append(t)
    return {
        "survey": spec.survey,
        "version": spec.version,
        "defaults": {"low_base": 30, "suppress_base": 10, "min_cell": 10},
        "tables": tables,
    }


def _statistic(q: Question) -> str:
    return "multi_response" if q.type == "multi" else "frequency"


def _table(n: int, q: Question, statistic: str, source: str) -> dict[str, Any]:
    exclusive = q.type != "multi" or q.max_choices == 1
    return {
        "id": f"table-Q-{n}",
        "title": q.text,
        "question": q.id,
        "population": dict(POPULATION),
        "base": "answered",
        "base_text": BASE_TEXT,
        "statistic": statistic,
        "exclusive": exclusive,
        "chart": "bar",
        "source": source,
    }
