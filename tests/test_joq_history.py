"""`joq code` learns from earlier months: their human-coded answers, with codes mapped to this
month's frame through the taxonomy theme, join the training at ``history_weight`` (hashing
embedder, no model)."""

import json

import polars as pl
import pytest
import yaml

from pipeline.core.embed import HashingEmbedder
from pipeline.joq import flow, review, store
from tests.test_joq_workflow import ANSWERS, FRAME, TAXONOMY

# February renames both codes; the taxonomy theme is what links them to January's
FEB = {
    **FRAME,
    "month": "2025-02",
    "codes": [
        {**FRAME["codes"][0], "id": "conversation", "exemplars": []},
        {**FRAME["codes"][1], "id": "cash"},
        FRAME["codes"][2],
    ],
}


def _decide(s, month_id, codes: dict[str, list[str]]) -> None:
    dec = pl.DataFrame(
        {
            "response_id": list(codes),
            "codes": list(codes.values()),
            "exclude_quote": [None] * len(codes),
            "note": [None] * len(codes),
        },
        schema={
            "response_id": pl.String,
            "codes": pl.List(pl.String),
            "exclude_quote": pl.Boolean,
            "note": pl.String,
        },
    )
    review.store_decisions(s.con, month_id, dec, "tester")


def _export(path, prefix, submitted):
    lines = ["Response ID,Submitted,Sector,Answer,Region"]
    lines += [
        f'{prefix}{i:02d},{submitted},Education,"{a}",North' for i, a in enumerate(ANSWERS, 1)
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def two_months(tmp_path):
    tmp = tmp_path
    (tmp / "frames" / "joq").mkdir(parents=True)
    (tmp / "frames" / "joq" / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
    (tmp / "frames" / "joq" / "2025-01.yaml").write_text(yaml.safe_dump(FRAME))
    s = flow.Session(
        store.connect(tmp / "db.duckdb"), HashingEmbedder(), tmp / "out", tmp / "frames" / "joq"
    )
    _export(tmp / "jan.csv", "R", "2025-02-01")
    flow.run_import(s, tmp / "jan.csv", "2025-01")
    _decide(s, "2025-01", {"R02": ["money"], "R04": ["talk"], "R07": ["other"]})
    flow.run_code(s, "2025-01")
    (tmp / "frames" / "joq" / "2025-02.yaml").write_text(yaml.safe_dump(FEB))
    _export(tmp / "feb.csv", "F", "2025-03-01")
    flow.run_import(s, tmp / "feb.csv", "2025-02")
    return s


def test_earlier_decisions_map_to_this_frame_by_theme(two_months):
    h = flow.training_history(two_months, "2025-02", two_months.frame("2025-02"))
    texts = dict(zip(h.texts, h.codes, strict=True))
    # R07 was decided 'other': no theme to carry, so it is not a training row
    assert texts == {
        "More funding for youth clubs": frozenset({"cash"}),
        "Better communication with schools": frozenset({"conversation"}),
    }
    assert h.months == {"2025-01": 2}


def test_code_records_the_history_it_learnt_from_and_can_switch_it_off(two_months):
    s = two_months
    on = flow.run_code(s, "2025-02")
    assert on.n_history == 2
    run = store.latest_run(s.con, "2025-02")
    assert run["history"] == {"months": {"2025-01": 2}, "answers": 2, "weight": 0.75}
    off = flow.run_code(s, "2025-02", {"history_weight": 0.0})
    assert off.n_history == 0 and off.run_id != on.run_id
    assert json.loads(
        s.con.execute("SELECT history FROM joq_runs WHERE run_id = ?", [off.run_id]).fetchone()[0]
    ) == {"months": {}, "answers": 0, "weight": 0.0}


def test_a_later_month_never_teaches_an_earlier_one(two_months):
    s = two_months
    _decide(s, "2025-02", {"F01": ["cash"]})
    flow.run_code(s, "2025-02")
    h = flow.training_history(s, "2025-01", s.frame("2025-01"))
    assert h.texts == [] and flow.run_code(s, "2025-01").n_history == 0


def test_a_new_decision_in_an_earlier_month_re_scores_instead_of_reusing_the_stored_result(
    two_months,
):
    s = two_months
    first = flow.run_code(s, "2025-02")
    again = flow.run_code(s, "2025-02")
    assert again.cached and again.n_history == 2 and again.run_id == first.run_id
    _decide(s, "2025-01", {"R09": ["money"]})  # January gains a decision after February was coded
    after = flow.run_code(s, "2025-02")
    assert not after.cached and after.n_history == 3 and after.run_id != first.run_id
