"""The review workbook as a coder's tool, and human decisions that are never lost (issue 11 item 3,
issue 12 items 2 and 4): state-stamped sheets, stale sheets refused, idempotent apply, the codebook
round trip, new codes from the sheet, several coders and their agreement."""

import openpyxl
import polars as pl
import pytest
import yaml

from pipeline.core.embed import HashingEmbedder
from pipeline.core.errors import InputError, ReviewError, SpecError
from pipeline.joq import flow, store
from pipeline.joq.frames import load_frame
from tests.joq_sheets import edit_sheet, rows_of
from tests.test_joq_workflow import ANSWERS, FRAME, TAXONOMY

MONTH = "2025-01"


@pytest.fixture
def s(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1740000000")
    joq = tmp_path / "frames" / "joq"
    joq.mkdir(parents=True)
    (joq / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
    (joq / f"{MONTH}.yaml").write_text(yaml.safe_dump(FRAME))
    lines = ["Response ID,Submitted,Sector,Answer,Role,Region,Happy for us to quote you?"]
    for i, a in enumerate(ANSWERS, start=1):
        sector = "Education" if i % 3 else "All of the above"
        consent = "Yes" if i % 4 else "No"
        lines.append(
            f'R{i:02d},2025-02-01,{sector},"{a}",YW,{"North" if i % 2 else "South"},{consent}'
        )
    (tmp_path / "export.csv").write_text("\n".join(lines) + "\n")
    session = flow.Session(
        store.connect(tmp_path / "db.duckdb"), HashingEmbedder(), tmp_path / "out", joq
    )
    flow.run_import(session, tmp_path / "export.csv", MONTH)
    flow.run_code(session, MONTH)
    return session


def history(s) -> int:
    return store.query(s.con, "SELECT count(*) AS n FROM joq_decisions")["n"][0]


def test_review_never_overwrites_an_edited_unapplied_sheet(s):
    path = flow.run_review_write(s, MONTH, "AB")
    assert path.name == "review_AB.xlsx"
    edit_sheet(path, {"R07": {"code_1": "talk"}, "R09": {"code_1": "money"}})
    with pytest.raises(InputError) as err:
        flow.run_review_write(s, MONTH, "AB")
    msg = str(err.value)
    assert "2 edited row(s)" in msg and "--apply" in msg and "--overwrite" in msg
    assert rows_of(path, "review")  # the edited file is untouched
    flow.run_review_apply(s, MONTH, path, "AB")
    flow.run_review_write(s, MONTH, "AB")  # applied: a fresh sheet may replace it
    edit_sheet(path, {"R02": {"note": "check"}})
    flow.run_review_write(s, MONTH, "AB", overwrite=True)


def test_stale_sheet_is_refused_listing_the_ids_unless_forced(s):
    ab = flow.run_review_write(s, MONTH, "AB")
    cd = flow.run_review_write(s, MONTH, "CD")
    edit_sheet(cd, {"R07": {"code_1": "money"}})
    flow.run_review_apply(s, MONTH, cd, "CD")
    edit_sheet(ab, {"R07": {"code_1": "talk"}, "R09": {"code_1": "money"}})
    with pytest.raises(ReviewError) as err:
        flow.run_review_apply(s, MONTH, ab, "AB")
    assert "stale" in str(err.value) and "R07" in str(err.value) and "R09" not in str(err.value)
    latest = store.latest_decisions(s.con, MONTH)
    assert latest.filter(pl.col("response_id") == "R07")["codes"][0].to_list() == ["money"]
    res = flow.run_review_apply(s, MONTH, ab, "AB", force=True)
    assert res.forced == ["R07"] and res.stored == 2


def test_reapplying_a_sheet_with_notes_is_idempotent(s):
    path = flow.run_review_write(s, MONTH, "AB")
    edits = {f"R{i:02d}": {"code_1": "talk", "note": f"note {i}"} for i in range(1, 8)}
    edits["R03"] = {"exclude_quote": "yes", "note": "identifying"}
    edit_sheet(path, edits)
    first = flow.run_review_apply(s, MONTH, path, "AB")
    n = history(s)
    assert first.stored == 7 == n  # R01-R07 (R08 is a non-answer, not in the sheet)
    assert flow.run_review_apply(s, MONTH, path, "AB").stored == 0
    assert history(s) == n
    # the coder keeps working in the same sheet: only the new edit is stored
    edit_sheet(path, {"R10": {"code_1": "money"}})
    assert flow.run_review_apply(s, MONTH, path, "AB").stored == 1


def test_sheet_layout_is_a_coders_tool(s):
    first = flow.run_review_write(s, MONTH, "AB")
    edit_sheet(first, {"R02": {"code_1": "money", "note": "clearly funding"}})
    flow.run_review_apply(s, MONTH, first, "AB")
    path = flow.run_review_write(s, MONTH, "AB")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "instructions"
    assert "--apply" in " ".join(str(c.value) for c in wb["instructions"]["A"])
    assert wb["_state"].sheet_state == "hidden"
    ws = wb["review"]
    head = [c.value for c in ws[1]]
    for col in ("no", "answer", "role", "region", "sectors", "consent", "machine_codes"):
        assert col in head
    max_codes = FRAME.get("thresholds", {}).get("max_codes", 3)
    assert [h for h in head if h.startswith("code_")] == [
        f"code_{k}" for k in range(1, max_codes + 1)
    ]
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref.startswith("A1:")
    answer = head.index("answer") + 1
    assert ws.cell(row=2, column=answer).alignment.wrap_text
    assert ws.column_dimensions[openpyxl.utils.get_column_letter(answer)].width >= 60
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation}
    assert "=codebook!$A$2:$A$500" in lists and '"yes,no"' in lists
    ids = [r["response_id"] for r in rows_of(path, "review")]
    assert "R02" not in ids
    decided = rows_of(path, "decided")
    assert [(r["response_id"], r["decided_by"], r["decision_note"]) for r in decided] == [
        ("R02", "AB", "clearly funding")
    ]
    consent = {r["response_id"]: r["consent"] for r in rows_of(path, "review")}
    assert consent["R04"] == "no" and consent["R01"] == "yes"
    texts = " ".join(str(r["answer"]) for r in rows_of(path, "review"))
    assert "someone@example.org" not in texts and "[email]" in texts


def test_same_state_gives_the_same_bytes(s):
    a = flow.run_review_write(s, MONTH, "AB").read_bytes()
    b = flow.run_review_write(s, MONTH, "AB").read_bytes()
    assert a == b


def test_a_new_code_typed_in_the_sheet_needs_confirmation(s):
    path = flow.run_review_write(s, MONTH, "AB")
    edit_sheet(path, {"R07": {"new_code": "Weather and seasons"}, "R09": {"new_code": "funding"}})
    with pytest.raises(ReviewError) as err:
        flow.run_review_apply(s, MONTH, path, "AB")
    assert "weather_and_seasons" in str(err.value) and "--add-codes" in str(err.value)
    assert history(s) == 0
    res = flow.run_review_apply(s, MONTH, path, "AB", add_codes=True)
    latest = store.latest_decisions(s.con, MONTH)
    r09 = latest.filter(pl.col("response_id") == "R09")["codes"].to_list()
    assert r09 == [["money"]]  # 'funding' is the label of code money, not a new code
    assert res.stored == 2 and any("weather_and_seasons" in c for c in res.frame_changes)
    frame = load_frame(MONTH, s.frames_dir, s.taxonomy())
    assert "weather_and_seasons" in frame.code_ids() and frame.version == FRAME["version"] + 1
    assert frame.code_ids()[-1] == "other"


def test_codebook_round_trip_edits_adds_merges_and_renames(s):
    path = flow.run_review_write(s, MONTH, "AB")
    edit_sheet(path, {"R09": {"code_1": "money"}})
    no = {r["response_id"]: r["no"] for r in rows_of(path, "review")}
    edit_sheet(
        path,
        {},
        codebook=[
            {
                "id": "talk",
                "label": "Talk more: with schools",
                "theme": "communication",
                "definition": "talking",
                "include": "talk; communicat; conversation",
                "exemplars": f"{no['R10']}; R01",
                "memo": "check schools vs others",
            },
            {
                "id": "money",
                "label": "Funding",
                "theme": "funding_resources",
                "action": "rename to funding",
            },
            {
                "id": "cash",
                "label": "Cash",
                "theme": "funding_resources",
                "include": "cash",
                "action": "merge into funding",
            },
            {"id": "weather", "label": "Weather", "theme": "other", "include": "weather"},
            {"id": "other", "label": "Other", "theme": "other"},
        ],
    )
    res = flow.run_review_apply(s, MONTH, path, "AB")
    again = flow.run_review_apply(s, MONTH, path, "AB")
    assert again.frame_changes == [] and again.stored == 0  # applied once, however often
    assert "renamed code money to funding" in res.frame_changes
    assert "merged code cash into funding" in res.frame_changes
    assert any(c.startswith("added code weather") for c in res.frame_changes)
    text = (s.frames_dir / f"{MONTH}.yaml").read_text()
    frame = load_frame(MONTH, s.frames_dir, s.taxonomy())  # the YAML validates
    assert frame.code_ids() == ["talk", "funding", "weather", "other"]
    talk = frame.code("talk")
    assert talk.label == "Talk more: with schools" and talk.memo == "check schools vs others"
    assert [e.response_id for e in talk.exemplars] == ["R10", "R01"]
    assert talk.exemplars[0].text == ANSWERS[9]  # copied from the import, never typed
    assert (
        frame.code("funding").replaces == ["money", "cash"]
        and "cash" in frame.code("funding").include
    )
    assert "Talk more: with schools" in text
    # the decision made with the old id counts under the new one once coded again
    flow.run_code(s, MONTH)
    final = store.final_codes(s.con, MONTH)
    assert final.filter(pl.col("response_id") == "R09")["code_id"].to_list() == ["funding"]


def test_codebook_problems_name_the_row_and_column(s):
    path = flow.run_review_write(s, MONTH, "AB")
    edit_sheet(
        path, {}, codebook={"talk": {"theme": "communicaton"}, "money": {"action": "explode"}}
    )
    with pytest.raises(ReviewError) as err:
        flow.run_review_apply(s, MONTH, path, "AB")
    msg = str(err.value)
    assert "codebook row 2: theme 'communicaton'" in msg and "action 'explode'" in msg
    assert (s.frames_dir / f"{MONTH}.yaml").read_text() == yaml.safe_dump(FRAME)


def test_a_draft_frame_is_refused_by_code_unless_allowed(s):
    draft = {**FRAME, "status": "draft"}
    (s.frames_dir / f"{MONTH}.yaml").write_text(yaml.safe_dump(draft))
    with pytest.raises(SpecError) as err:
        flow.run_code(s, MONTH)
    assert "draft" in str(err.value) and "--allow-draft" in str(err.value)
    flow.run_code(s, MONTH, allow_draft=True)
    # the coders call the codebook final from their sheet
    sheet = flow.run_review_write(s, MONTH, "AB")
    res = flow.run_review_apply(s, MONTH, sheet, "AB", mark_reviewed=True)
    assert res.frame_changes == ["status: draft -> reviewed"]
    assert load_frame(MONTH, s.frames_dir, s.taxonomy()).status == "reviewed"
    flow.run_code(s, MONTH)


def test_frames_folder_without_a_taxonomy_is_a_clear_message(s, tmp_path):
    (s.frames_dir / "taxonomy.yaml").unlink()
    (tmp_path / "frames" / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))  # folder above
    with pytest.raises(InputError) as err:
        s.frame(MONTH)
    assert "no taxonomy.yaml in the frames folder" in str(err.value) and "--taxonomy" in str(
        err.value
    )
    s.taxonomy_path = tmp_path / "frames" / "taxonomy.yaml"
    assert s.frame(MONTH).month == MONTH


def test_two_coders_double_code_agree_and_resolve(s):
    ab = flow.run_review_write(s, MONTH, "AB")
    codes = {
        "R01": "talk",
        "R02": "money",
        "R03": "money",
        "R04": "talk",
        "R05": "money",
        "R09": "money",
        "R10": "talk",
        "R12": "money",
    }
    edit_sheet(ab, {r: {"code_1": c} for r, c in codes.items()})
    flow.run_review_apply(s, MONTH, ab, "AB")
    cd = flow.run_review_write(s, MONTH, "CD", double_code=6, seed=5)
    sample = [r["response_id"] for r in rows_of(cd, "review")]
    assert len(sample) == 6 and set(sample) <= set(codes)
    wb = openpyxl.load_workbook(cd)
    assert "decided" not in wb.sheetnames  # blind: no one else's codes shown
    assert "machine_codes" not in [c.value for c in wb["review"][1]]
    again = flow.run_review_write(s, MONTH, "CD", double_code=6, seed=5, overwrite=True)
    assert [r["response_id"] for r in rows_of(again, "review")] == sample  # seeded, recorded
    flip = sample[0]
    cd_codes = {r: codes[r] for r in sample}
    cd_codes[flip] = "money" if codes[flip] == "talk" else "talk"
    edit_sheet(again, {r: {"code_1": c} for r, c in cd_codes.items()})
    assert flow.run_review_apply(s, MONTH, again, "CD").stored == 6  # agreeing rows count too
    table, csv_path, xlsx = flow.run_between(s, MONTH, "AB", "CD")
    assert csv_path.is_file() and xlsx.is_file()
    assert pl.read_csv(xlsx.with_suffix(".csv"))["response_id"].to_list() == [flip]
    total = table.filter(pl.col("code") == "all").row(0, named=True)
    assert total["n_AB"] == 6 and total["n_both"] == 5
    assert table.filter(pl.col("code") == "talk")["kappa"][0] < 1
    dis = rows_of(xlsx, "disagreements")
    assert [r["response_id"] for r in dis] == [flip]
    assert {"codes_AB", "codes_CD", "only_AB", "only_CD"} <= set(dis[0])
    edit_sheet(xlsx, {flip: {"code_1": codes[flip], "note": "agreed in meeting"}})
    flow.run_review_apply(s, MONTH, xlsx, "EF")
    training = flow.training_codes(s, MONTH)
    assert training[flip] == frozenset({codes[flip]})  # the resolution is the training label
    sheets = store.query(s.con, "SELECT kind, seed FROM joq_sheets WHERE kind = 'double' LIMIT 1")
    assert sheets.row(0) == ("double", 5)


def test_a_stale_sheet_never_reverts_another_coders_codebook_edits(s):
    ab = flow.run_review_write(s, MONTH, "AB")
    cd = flow.run_review_write(s, MONTH, "CD")
    edit_sheet(cd, {}, codebook={"talk": {"label": "Talk more (CD)"}})
    flow.run_review_apply(s, MONTH, cd, "CD")
    # AB never touched the codebook: only AB's decision is stored, CD's label stands
    edit_sheet(ab, {"R02": {"code_1": "money"}})
    res = flow.run_review_apply(s, MONTH, ab, "AB")
    assert res.frame_changes == [] and res.stored == 1
    assert load_frame(MONTH, s.frames_dir, s.taxonomy()).code("talk").label == "Talk more (CD)"
    # AB edits the code CD changed: refused; a different code: applied, CD's edit kept
    edit_sheet(ab, {}, codebook={"talk": {"definition": "AB's words"}})
    with pytest.raises(ReviewError) as err:
        flow.run_review_apply(s, MONTH, ab, "AB")
    assert "talk" in str(err.value) and "changed in the frame after this sheet" in str(err.value)
    edit_sheet(ab, {}, codebook={"talk": {"definition": "talking and communication"}})
    edit_sheet(ab, {}, codebook={"money": {"memo": "AB: watch cuts vs funding"}})
    res = flow.run_review_apply(s, MONTH, ab, "AB")
    frame = load_frame(MONTH, s.frames_dir, s.taxonomy())
    assert res.frame_changes == ["edited money: memo"]
    assert frame.code("talk").label == "Talk more (CD)" and frame.code("money").memo.startswith(
        "AB"
    )
