"""REFI-QDA exchange: what we write validates against the standard's schema, keeps its identity
across re-exports, and comes back as the same decisions; a project written the way another tool
writes one (braced GUIDs, nested codes, partial selections) is read too, and nothing unknown is
dropped silently."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from test_joq_workflow import ANSWERS, FRAME, TAXONOMY
from typer.testing import CliRunner

from cli import app
from pipeline.core.embed import HashingEmbedder
from pipeline.core.errors import InputError
from pipeline.joq import exchange, flow, refiqda, review, store
from pipeline.joq.frames import load_frame, load_taxonomy

MONTH = "2025-01"
XSD = (
    Path(__file__).resolve().parents[1].parent / "shared" / "external" / "refi-qda" / "Project.xsd"
)


@pytest.fixture(scope="module")
def schema():
    xmlschema = pytest.importorskip("xmlschema")
    if not XSD.is_file():
        pytest.skip(f"REFI-QDA schema not found at {XSD} (../shared/external/refi-qda)")
    return xmlschema.XMLSchema(str(XSD))


@pytest.fixture
def month(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1738281600")
    (tmp_path / "frames" / "joq").mkdir(parents=True)
    (tmp_path / "frames" / "joq" / "taxonomy.yaml").write_text(yaml.safe_dump(TAXONOMY))
    (tmp_path / "frames" / "joq" / f"{MONTH}.yaml").write_text(yaml.safe_dump(FRAME))
    lines = ["Response ID,Submitted,Sector,Answer,Region"]
    for i, a in enumerate(ANSWERS, start=1):
        sector = "Education" if i % 3 else "All of the above"
        lines.append(f'R{i:02d},2025-02-01,{sector},"{a}",{"North" if i % 2 else "South"}')
    (tmp_path / "export.csv").write_text("\n".join(lines) + "\n")
    s = flow.Session(
        store.connect(tmp_path / "db.duckdb"),
        HashingEmbedder(),
        tmp_path / "out",
        tmp_path / "frames" / "joq",
    )
    flow.run_import(s, tmp_path / "export.csv", MONTH)
    flow.run_code(s, MONTH)
    decide(s, "AB", {"R01": ["talk"], "R05": ["money", "talk"]}, note={"R05": "both, clearly"})
    return s, tmp_path


def decide(s, coder, codes, note=None):
    import polars as pl

    note = note or {}
    df = pl.DataFrame(
        {
            "response_id": list(codes),
            "codes": list(codes.values()),
            "exclude_quote": [None] * len(codes),
            "note": [note.get(r) for r in codes],
        },
        schema={
            "response_id": pl.String,
            "codes": pl.List(pl.String),
            "exclude_quote": pl.Boolean,
            "note": pl.String,
        },
    )
    return review.store_decisions(s.con, MONTH, df, coder)


def project_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read("project.qde")


def rezip(path: Path, project: bytes) -> None:
    with zipfile.ZipFile(path) as z:
        others = {n: z.read(n) for n in z.namelist() if n != "project.qde"}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", project)
        for n, d in others.items():
            z.writestr(n, d)


def n_decisions(s) -> int:
    return s.con.execute("SELECT count(*) FROM joq_decisions").fetchall()[0][0]


def test_project_and_codebook_validate_against_the_standard(month, schema):
    s, tmp = month
    res = exchange.export_month(s, MONTH, tmp / "m.qdpx", tmp / "m.qdc")
    schema.validate(io.BytesIO(project_of(tmp / "m.qdpx")))
    # A .qdc is the CodeBook element of the project schema in the codebook namespace: check its
    # content by placing it in a minimal project.
    qdc = (tmp / "m.qdc").read_text(encoding="utf-8")
    body = qdc.split("?>", 1)[1].replace(refiqda.NS_CODEBOOK, refiqda.NS)
    wrapped = f'<Project xmlns="{refiqda.NS}" name="check">{body}</Project>'
    schema.validate(io.StringIO(wrapped))
    assert res.sources == len(ANSWERS) - 1  # "n/a" is a non-answer, not a source
    assert "AB" in res.users and refiqda.MACHINE_USER in res.users


def test_sources_are_redacted_and_point_at_their_files(month):
    s, tmp = month
    exchange.export_month(s, MONTH, tmp / "m.qdpx")
    with zipfile.ZipFile(tmp / "m.qdpx") as z:
        texts = [z.read(n).decode() for n in z.namelist() if n.startswith("Sources/")]
        project = z.read("project.qde").decode()
        names = set(z.namelist())
    assert not any("someone@example.org" in t for t in texts)
    for path in re.findall(r'plainTextPath="internal://([^"]+)"', project):
        assert f"Sources/{path}" in names


def test_a_reviewers_note_is_a_note_and_the_answers_description(month):
    """QualCoder keeps a Note only as a journal or an annotation of a selection, so it dropped our
    notes; it, like the others, shows a source's Description as the document's memo."""
    s, tmp = month
    exchange.export_month(s, MONTH, tmp / "m.qdpx")
    root = refiqda._parse_xml(project_of(tmp / "m.qdpx"), "project.qde")
    q = f"{{{refiqda.NS}}}"
    r05 = next(e for e in root.iter(q + "TextSource") if e.get("name") == "R05")
    assert r05[0].tag == q + "Description"  # first, as the schema's sequence requires
    assert r05.findtext(q + "Description") == "Note by AB: both, clearly"
    note = next(root.iter(q + "Note"))
    assert r05.find(q + "NoteRef").get("targetGUID") == note.get("guid")
    assert note.findtext(q + "PlainTextContent") == "both, clearly"
    others = [e for e in root.iter(q + "TextSource") if e.get("name") != "R05"]
    assert all(e.find(q + "Description") is None for e in others)


def test_reexport_is_byte_identical_and_guids_are_stable(month):
    s, tmp = month
    exchange.export_month(s, MONTH, tmp / "a.qdpx", tmp / "a.qdc")
    exchange.export_month(s, MONTH, tmp / "b.qdpx", tmp / "b.qdc")
    assert (tmp / "a.qdpx").read_bytes() == (tmp / "b.qdpx").read_bytes()
    assert (tmp / "a.qdc").read_bytes() == (tmp / "b.qdc").read_bytes()
    assert refiqda.guid("code", MONTH, "talk") in project_of(tmp / "a.qdpx").decode()


def test_round_trip_keeps_every_decision_and_the_frame(month):
    s, tmp = month
    before = store.latest_decisions(s.con, MONTH)
    exchange.export_month(s, MONTH, tmp / "m.qdpx")
    res = exchange.import_qdpx(s, MONTH, tmp / "m.qdpx")
    assert res.stored == {} and n_decisions(s) == 2
    assert store.latest_decisions(s.con, MONTH).equals(before)
    assert res.matched.unknown_codes == [] and res.matched.frame_diff == []
    assert res.matched.unused_frame_codes == [] and res.matched.machine_codings > 0


def add_coding(project: bytes, source_name: str, user: str, code_guid: str) -> bytes:
    """What another tool writes when person `user` codes part of an answer."""
    text = project.decode()
    user_guid = "{" + refiqda.guid("user", user).upper() + "}"
    text = text.replace("</Users>", f'  <User guid="{user_guid}" name="{user}"/>\n  </Users>', 1)
    m = re.search(rf'<TextSource [^>]*name="{source_name}"[^>]*>', text)
    assert m
    sel = (
        f'<PlainTextSelection guid="{{0E2A1C3B-1111-4A2B-9C3D-00000000000{len(user)}}}" '
        f'startPosition="2" endPosition="9" creatingUser="{user_guid}">'
        f'<Coding guid="{{0E2A1C3B-2222-4A2B-9C3D-00000000000{len(user)}}}" '
        f'creatingUser="{user_guid}"><CodeRef targetGUID="{code_guid}"/></Coding>'
        "</PlainTextSelection>"
    )
    return (text[: m.end()] + sel + text[m.end() :]).encode()


def test_coding_done_in_another_tool_comes_back_once(month):
    s, tmp = month
    exchange.export_month(s, MONTH, tmp / "m.qdpx")
    talk = refiqda.guid("code", MONTH, "talk")
    rezip(tmp / "m.qdpx", add_coding(project_of(tmp / "m.qdpx"), "R03", "CD", talk))
    res = exchange.import_qdpx(s, MONTH, tmp / "m.qdpx")
    assert res.stored == {"CD": 1}
    latest = store.latest_decisions(s.con, MONTH).filter(store.pl.col("response_id") == "R03")
    assert latest["codes"].to_list() == [["talk"]] and latest["coder"].to_list() == ["CD"]
    again = exchange.import_qdpx(s, MONTH, tmp / "m.qdpx")
    assert again.stored == {} and n_decisions(s) == 3  # idempotent


def test_a_file_older_than_a_later_decision_is_refused_unless_forced(month):
    s, tmp = month
    exchange.export_month(s, MONTH, tmp / "m.qdpx")
    decide(s, "AB", {"R03": ["money"]})  # decided in joinedup after the export
    talk = refiqda.guid("code", MONTH, "talk")
    rezip(tmp / "m.qdpx", add_coding(project_of(tmp / "m.qdpx"), "R03", "CD", talk))
    with pytest.raises(InputError, match="R03"):
        exchange.import_qdpx(s, MONTH, tmp / "m.qdpx")
    assert exchange.import_qdpx(s, MONTH, tmp / "m.qdpx", force=True).stored == {"CD": 1}


FOREIGN = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Coded in another tool" origin="Other QDA 14">
  <Users>
    <User guid="{7B0E3A43-6C5D-4E10-8F5B-0A1B2C3D4E5F}" name="Priya"/>
  </Users>
  <CodeBook><Codes>
    <Code guid="{A1B2C3D4-0000-4000-8000-000000000001}" name="Communication" isCodable="true">
      <Code guid="{A1B2C3D4-0000-4000-8000-000000000002}" name="Talk more" isCodable="true"/>
    </Code>
    <Code guid="{A1B2C3D4-0000-4000-8000-000000000003}" name="Funding" isCodable="true"/>
    <Code guid="{A1B2C3D4-0000-4000-8000-000000000004}" name="Weather" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="{B0000000-0000-4000-8000-000000000001}" name="R02"
        plainTextPath="internal://{B0000000-0000-4000-8000-000000000001}.txt">
      <PlainTextSelection guid="{C0000000-0000-4000-8000-000000000001}" startPosition="5"
          endPosition="12" creatingUser="{7B0E3A43-6C5D-4E10-8F5B-0A1B2C3D4E5F}">
        <Coding guid="{D0000000-0000-4000-8000-000000000001}">
          <CodeRef targetGUID="{A1B2C3D4-0000-4000-8000-000000000003}"/>
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="{C0000000-0000-4000-8000-000000000002}" startPosition="14"
          endPosition="20" creatingUser="{7B0E3A43-6C5D-4E10-8F5B-0A1B2C3D4E5F}">
        <Coding guid="{D0000000-0000-4000-8000-000000000002}"
            creatingUser="{7B0E3A43-6C5D-4E10-8F5B-0A1B2C3D4E5F}">
          <CodeRef targetGUID="{A1B2C3D4-0000-4000-8000-000000000002}"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
    <TextSource guid="{B0000000-0000-4000-8000-000000000002}" name="R07"
        plainTextPath="internal://{B0000000-0000-4000-8000-000000000002}.txt">
      <PlainTextSelection guid="{C0000000-0000-4000-8000-000000000003}" startPosition="0"
          endPosition="7" creatingUser="{7B0E3A43-6C5D-4E10-8F5B-0A1B2C3D4E5F}">
        <Coding guid="{D0000000-0000-4000-8000-000000000003}">
          <CodeRef targetGUID="{A1B2C3D4-0000-4000-8000-000000000004}"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"""


def foreign_qdpx(tmp: Path) -> Path:
    path = tmp / "foreign.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", FOREIGN)
        z.writestr("Sources/{B0000000-0000-4000-8000-000000000001}.txt", "More funding for clubs")
    return path


def test_foreign_project_is_matched_by_name_and_unknown_codes_are_reported(month, schema):
    s, tmp = month
    path = foreign_qdpx(tmp)
    schema.validate(io.BytesIO(FOREIGN.encode()))  # the fixture is a valid project, not ours
    with pytest.raises(InputError, match="Weather"):
        exchange.import_qdpx(s, MONTH, path)
    res = exchange.import_qdpx(s, MONTH, path, ignore_unknown=True)
    assert res.stored == {"Priya": 1} and res.foreign
    assert any("Weather" in w for w in res.warnings)
    assert any("not exported by joinedup" in w for w in res.warnings)
    latest = store.latest_decisions(s.con, MONTH).filter(store.pl.col("response_id") == "R02")
    assert latest["codes"].to_list() == [["money", "talk"]]  # selections on parts of the answer


def test_codings_without_a_user_need_a_named_coder(month):
    s, tmp = month
    path = tmp / "nouser.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", re.sub(r'\s+creatingUser="[^"]+"', "", FOREIGN))
    with pytest.raises(InputError, match="--coder"):
        exchange.import_qdpx(s, MONTH, path, ignore_unknown=True)
    res = exchange.import_qdpx(s, MONTH, path, coder="EF", ignore_unknown=True)
    assert res.stored == {"EF": 1}


# What QualCoder 3.x writes when it exports a project it imported from us (Project > Export >
# REFI-QDA Project; checked by running it, see docs/qda-exchange.md): every GUID is new and random,
# users are named from the coders' names, each coding is its own selection, a Coding has no
# creationDateTime, code descriptions and the project description (our state line) come back
# verbatim, and sources sit in a lower-case sources/ folder written with a BOM.
QUALCODER = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns:xsd="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="joq.qda" origin="3.7" \
creatingUserGUID="dfa4ec67-fd8f-4558-a0cd-4389d6f11a66" creationDateTime="2025-02-01T10:00:00Z" \
xmlns="urn:QDA-XML:project:1.0">
<Users>
<User guid="78e58cfc-e910-4565-8465-234a17a17849" name="joinedup (machine)" />
<User guid="3b1a9da9-9785-493a-babe-a7a10e1a3ac1" name="AB" />
<User guid="5c0d2e77-1f3a-4b6e-9d2c-8a7b6c5d4e3f" name="CD" />
</Users>
<CodeBook>
<Codes>
<Code guid="2d8220bf-2c1b-48ab-a430-6fd79610f34a" name="Communication" isCodable="false">
<Description>talking
[joinedup theme id: communication]</Description>
<Code guid="d8ddf2f2-b4e3-4d68-87de-f7e7031d8889" name="Talk more" isCodable="true" color="#3D6CB3">
<Description>{talk}</Description>
</Code>
</Code>
<Code guid="b3a1ed30-56b4-4869-afb7-b25c8867a7a0" name="Funding" isCodable="false">
<Description>money
[joinedup theme id: funding_resources]</Description>
<Code guid="d282cc59-09bb-4902-8684-5245c2b37841" name="Funding" isCodable="true" color="#FF6F00">
<Description>{money}</Description>
</Code>
</Code>
<Code guid="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" name="Other" isCodable="false">
<Code guid="1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e" name="Other" isCodable="true" color="#999999">
<Description>{other}</Description>
</Code>
</Code>
</Codes>
</CodeBook>
<Sources>
<TextSource plainTextPath="internal://ea8b3701-8546-42df-9cc8-2f2089fb46a7.txt" \
creatingUser="78e58cfc-e910-4565-8465-234a17a17849" creationDateTime="2025-02-01T10:00:00Z" \
guid="e553f0ec-86b5-4db2-9607-57709f50fc5e" name="R01">
<PlainTextSelection guid="652452d6-87af-4c98-aac0-29400c39a823" startPosition="0" \
endPosition="23" name="Talk to each other more" creatingUser="3b1a9da9-9785-493a-babe-a7a10e1a3ac1" \
creationDateTime="2025-02-01T10:00:00Z">
<Coding guid="c15cb23c-9c48-4451-9c29-71161941eb75" creatingUser="3b1a9da9-9785-493a-babe-a7a10e1a3ac1" >
<CodeRef targetGUID="d8ddf2f2-b4e3-4d68-87de-f7e7031d8889" />
</Coding>
</PlainTextSelection>
</TextSource>
<TextSource plainTextPath="internal://dd759a70-40ca-44b8-9959-b2714b4f6036.txt" \
creatingUser="78e58cfc-e910-4565-8465-234a17a17849" creationDateTime="2025-02-01T10:00:00Z" \
guid="9873d8fc-bf6d-4a79-b24f-d2c5529b92aa" name="R02">
<PlainTextSelection guid="425294a9-f7e9-4a4b-9d17-e40b41ac73d5" startPosition="0" \
endPosition="28" name="More funding for youth clubs" creatingUser="78e58cfc-e910-4565-8465-234a17a17849" \
creationDateTime="2025-02-01T10:00:00Z">
<Coding guid="618cfa50-d491-4fb0-a607-e52026dfa82c" creatingUser="78e58cfc-e910-4565-8465-234a17a17849" >
<CodeRef targetGUID="d282cc59-09bb-4902-8684-5245c2b37841" />
</Coding>
</PlainTextSelection>
</TextSource>
<TextSource plainTextPath="internal://401404d6-dc31-4e55-b266-da9210cdb111.txt" \
creatingUser="78e58cfc-e910-4565-8465-234a17a17849" creationDateTime="2025-02-01T10:00:00Z" \
guid="7534677a-c99b-4f85-ba77-f743826b501f" name="R03">
<PlainTextSelection guid="8c15bb94-afe7-49f0-9ddf-dccbd79e315b" startPosition="0" \
endPosition="15" name="Money for staff" creatingUser="78e58cfc-e910-4565-8465-234a17a17849" \
creationDateTime="2025-02-01T10:00:00Z">
<Coding guid="6d929f91-bb57-453d-b7bd-a6b6be831e28" creatingUser="78e58cfc-e910-4565-8465-234a17a17849" >
<CodeRef targetGUID="d282cc59-09bb-4902-8684-5245c2b37841" />
</Coding>
</PlainTextSelection>
<PlainTextSelection guid="6ac2afaa-0eee-45dd-a6d0-db01de760e04" startPosition="0" \
endPosition="5" name="Money" creatingUser="5c0d2e77-1f3a-4b6e-9d2c-8a7b6c5d4e3f" \
creationDateTime="2025-02-03T09:00:00Z">
<Coding guid="3be2fb2b-feed-4e7b-ad61-f809d936e849" creatingUser="5c0d2e77-1f3a-4b6e-9d2c-8a7b6c5d4e3f" >
<CodeRef targetGUID="d282cc59-09bb-4902-8684-5245c2b37841" />
</Coding>
</PlainTextSelection>
</TextSource>
</Sources>
<Description>joinedup-state: {{&quot;decision_seq&quot;: {seq}, &quot;frame_version&quot;: 2, \
&quot;month&quot;: &quot;2025-01&quot;}}</Description>
</Project>"""


def qualcoder_qdpx(s, tmp: Path) -> Path:
    frame = s.frame(MONTH)
    seq = s.con.execute("SELECT max(seq) FROM joq_decisions").fetchall()[0][0]
    descs = {c.id: refiqda.code_description(c) for c in frame.codes}
    path = tmp / "qualcoder.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", QUALCODER.format(seq=seq, **descs))
        z.writestr(
            "sources/ea8b3701-8546-42df-9cc8-2f2089fb46a7.txt", "\ufeffTalk to each other more"
        )
    return path


def test_a_project_re_exported_by_qualcoder_keeps_machine_codes_as_machine_codes(month, schema):
    s, tmp = month
    path = qualcoder_qdpx(s, tmp)
    schema.validate(io.BytesIO(project_of(path)))  # the fixture is a valid project
    res = exchange.import_qdpx(s, MONTH, path)
    # the machine is known by its user name though QualCoder gave it a new GUID; AB's coding is
    # what joinedup already holds; only CD's few words on R03 are new
    assert res.stored == {"CD": 1} and res.matched.machine_codings == 2
    assert not res.foreign and res.warnings == []
    latest = store.latest_decisions(s.con, MONTH).filter(store.pl.col("coder") == "CD")
    assert latest["response_id"].to_list() == ["R03"] and latest["codes"].to_list() == [["money"]]
    assert exchange.import_qdpx(s, MONTH, path).stored == {}


def test_a_codebook_seeds_a_draft_frame(month):
    s, tmp = month
    exchange.export_month(s, MONTH, qdc=tmp / "m.qdc")
    _, notes = exchange.frame_from_qdc(s, tmp / "m.qdc", "2025-02")
    tax = load_taxonomy(tmp / "frames" / "joq" / "taxonomy.yaml")
    frame = load_frame("2025-02", tmp / "frames" / "joq", tax)
    old = load_frame(MONTH, tmp / "frames" / "joq", tax)
    assert frame.status == "draft" and notes == []
    assert [(c.id, c.label, c.theme, c.definition, c.include) for c in frame.codes] == [
        (c.id, c.label, c.theme, c.definition, c.include) for c in old.codes
    ]
    with pytest.raises(InputError, match="exists already"):
        exchange.frame_from_qdc(s, tmp / "m.qdc", "2025-02")


def test_a_foreign_codebook_files_unmatched_parents_under_other(month):
    s, tmp = month
    book = FOREIGN.replace("Communication", "Talking things through")
    (tmp / "f.qdc").write_text(book)
    path, notes = exchange.frame_from_qdc(s, tmp / "f.qdc", "2025-03")
    frame = load_frame(
        "2025-03", tmp / "frames" / "joq", load_taxonomy(tmp / "frames" / "joq" / "taxonomy.yaml")
    )
    by_label = {c.label: c for c in frame.codes}
    assert by_label["Talk more"].theme == "other" and any("Talk more" in n for n in notes)
    assert "# note:" in path.read_text()


def test_hostile_xml_is_refused(month):
    s, tmp = month
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Project name="x">&a;</Project>'
    path = tmp / "bomb.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", bomb)
    with pytest.raises(InputError, match="DOCTYPE"):
        exchange.import_qdpx(s, MONTH, path)


def test_cli_export_and_import(month):
    s, tmp = month
    common = [
        "--db",
        str(tmp / "db.duckdb"),
        "--out",
        str(tmp / "out"),
        "--frames",
        str(tmp / "frames" / "joq"),
    ]
    s.con.close()
    r = CliRunner().invoke(
        app,
        [
            "joq",
            "export",
            MONTH,
            "--qdpx",
            str(tmp / "c.qdpx"),
            "--qdc",
            str(tmp / "c.qdc"),
            *common,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "c.qdpx" in r.output and (tmp / "c.qdc").is_file()
    r = CliRunner().invoke(app, ["joq", "import-qdpx", MONTH, str(tmp / "c.qdpx"), *common])
    assert r.exit_code == 0, r.output
    assert "0 decision(s) stored" in r.output
    assert "re-run" not in r.output  # nothing new to retrain on


def test_synthetic_months_say_so_in_the_project(month):
    s, _ = month
    inp = exchange._export_input(s, MONTH, exchange.Redactor([]))
    project, _ = refiqda.project_xml(replace(inp, synthetic=True))
    assert b"SYNTHETIC reference data" in project
    assert b"SYNTHETIC" not in refiqda.project_xml(inp)[0]
