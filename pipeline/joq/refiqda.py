"""REFI-QDA (QDA-XML 1.0) projects and codebooks: a month's coding out to NVivo, MAXQDA, ATLAS.ti
and QualCoder, and coding done there back in.

Why one TextSource per answer: in every one of those tools a source is a "document" a coder opens,
codes and filters by, and a case (the respondent, with role/region/sector/consent as variables)
points at its document. One source per month with one selection per answer would put 250 answers
in one scrolling document whose selections cannot carry case variables. Each answer's codes sit on
a ``PlainTextSelection`` spanning the whole answer, one selection per person (or the machine) who
coded it, so the tools' "coded by user" filters separate machine and human coding.

Identity: every GUID is a UUID5 of what it names (month + code id, month + response id, coder
name), so re-exporting a month gives the same GUIDs and an import recognises its own codes and
sources even if another tool renamed them. Files from other tools are matched by GUID first, then
by name; nothing unknown is dropped silently (see ``ParsedProject``).

Pure functions: XML in and out as bytes; the store, the zip and the files are ``exchange.py``'s.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import polars as pl

from pipeline.core.errors import InputError
from pipeline.joq.frames import OTHER, Code, Frame, Taxonomy

NS = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
_ROOT_ID = uuid.UUID("6f1c6a55-3b1e-4d2c-9a3e-6a6f696e6564")  # joinedup's namespace for UUID5
MACHINE_USER = "joinedup (machine)"
ORIGIN = "joinedup"
STATE_PREFIX = "joinedup-state: "
CODE_ID_LINE = re.compile(r"^\[joinedup code id: ([a-z][a-z0-9_]*)\]$", re.M)
# Okabe-Ito and Tableau-like hues: distinct for the common colour blindnesses, one per theme.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#B07AA1",
    "#76B7B2",
    "#EDC948",
    "#9C755F",
)


def guid(kind: str, *parts: str) -> str:
    """A stable GUID for a named thing (``guid('code', '2025-01', 'funding')``)."""
    return str(uuid.uuid5(_ROOT_ID, ":".join((kind, *parts))))


def _norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


def _q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


# --- writing ------------------------------------------------------------------------------------


def code_description(code: Code) -> str:
    """Definition, then the include/exclude phrases, then the code id that lets an import match the
    code even after another tool regenerated its GUID."""
    lines = [code.definition.strip()] if code.definition.strip() else []
    if code.include:
        lines.append("Include: " + "; ".join(code.include))
    if code.exclude:
        lines.append("Exclude: " + "; ".join(code.exclude))
    lines.append(f"[joinedup code id: {code.id}]")
    return "\n".join(lines)


def _codes_element(frame: Frame, taxonomy: Taxonomy, ns: str) -> ET.Element:
    codes_el = ET.Element(_q("Codes", ns))
    themes_used = []
    for c in frame.codes:
        if c.theme not in themes_used:
            themes_used.append(c.theme)
    order = {t: i for i, t in enumerate(taxonomy.ids())}
    for theme_id in sorted(themes_used, key=lambda t: order.get(t, len(order))):
        colour = PALETTE[order.get(theme_id, 0) % len(PALETTE)]
        theme = next((t for t in taxonomy.themes if t.id == theme_id), None)
        parent = ET.SubElement(
            codes_el,
            _q("Code", ns),
            guid=guid("theme", theme_id),
            name=theme.label if theme else theme_id,
            isCodable="false",
            color=colour,
        )
        ET.SubElement(parent, _q("Description", ns)).text = (
            theme.description.strip() + "\n" if theme and theme.description.strip() else ""
        ) + f"[joinedup theme id: {theme_id}]"
        for c in frame.codes:
            if c.theme != theme_id:
                continue
            el = ET.SubElement(
                parent,
                _q("Code", ns),
                guid=guid("code", frame.month, c.id),
                name=c.label,
                isCodable="true",
                color=colour,
            )
            ET.SubElement(el, _q("Description", ns)).text = code_description(c)
    return codes_el


def codebook_xml(frame: Frame, taxonomy: Taxonomy) -> bytes:
    """A stand-alone ``.qdc`` codebook (root ``CodeBook`` in the codebook namespace)."""
    ET.register_namespace("", NS_CODEBOOK)
    root = ET.Element(_q("CodeBook", NS_CODEBOOK))
    root.append(_codes_element(frame, taxonomy, NS_CODEBOOK))
    return _serialise(root)


@dataclass(frozen=True)
class ExportInput:
    """What a month's project holds. ``final`` has response_id, code_id, method ('human:<coder>'
    or a machine method), ``responses`` response_id, text (already redacted), and any of role,
    region, sectors (list of labels), consent; ``notes`` response_id, coder, note."""

    frame: Frame
    taxonomy: Taxonomy
    responses: pl.DataFrame
    final: pl.DataFrame
    notes: pl.DataFrame
    stamp: str  # ISO 8601 generation time, e.g. 2025-01-31T00:00:00Z
    state: Mapping[str, object] = field(default_factory=dict)
    synthetic: bool = (
        False  # answers from the synthetic reference data: said in name and description
    )


VARIABLES = (("role", "Text"), ("region", "Text"), ("sectors", "Text"), ("consent", "Boolean"))


def _variable_value(parent: ET.Element, var_guid: str, kind: str, value: object) -> None:
    vv = ET.SubElement(parent, _q("VariableValue"))
    ET.SubElement(vv, _q("VariableRef"), targetGUID=var_guid)
    if kind == "Boolean":
        ET.SubElement(vv, _q("BooleanValue")).text = "true" if value else "false"
    else:
        ET.SubElement(vv, _q("TextValue")).text = str(value)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or None
    text = str(value).strip()
    return text or None


def project_xml(inp: ExportInput) -> tuple[bytes, dict[str, str]]:
    """``project.qde`` and the ``Sources/`` files it points at (name -> text)."""
    ET.register_namespace("", NS)
    month = inp.frame.month
    coders = sorted(
        {m.removeprefix("human:") for m in inp.final["method"].to_list() if m.startswith("human:")}
        | set(inp.notes["coder"].to_list() if inp.notes.height else [])
    )
    users = {MACHINE_USER: guid("user", MACHINE_USER)} | {c: guid("user", c) for c in coders}
    root = ET.Element(
        _q("Project"),
        name=f"joinedup JOQ {month}" + (" (SYNTHETIC reference data)" if inp.synthetic else ""),
        origin=ORIGIN,
        creatingUserGUID=users[MACHINE_USER],
        creationDateTime=inp.stamp,
    )
    users_el = ET.SubElement(root, _q("Users"))
    for name, g in users.items():
        ET.SubElement(users_el, _q("User"), guid=g, name=name)
    book = ET.SubElement(root, _q("CodeBook"))
    book.append(_codes_element(inp.frame, inp.taxonomy, NS))

    present = [
        (name, kind)
        for name, kind in VARIABLES
        if name in inp.responses.columns
        and inp.responses[name].drop_nulls().map_elements(_cell_text, pl.String).drop_nulls().len()
    ]
    var_guids = {name: guid("variable", name) for name, _ in present}
    if present:
        vars_el = ET.SubElement(root, _q("Variables"))
        for name, kind in present:
            ET.SubElement(
                vars_el, _q("Variable"), guid=var_guids[name], name=name, typeOfVariable=kind
            )

    rows = inp.responses.sort("response_id").to_dicts()
    codes_by: dict[tuple[str, str], list[str]] = {}
    for r in inp.final.iter_rows(named=True):
        who = r["method"].removeprefix("human:") if r["method"].startswith("human:") else None
        codes_by.setdefault((r["response_id"], who or MACHINE_USER), []).append(r["code_id"])
    notes_by: dict[str, list[tuple[str, str]]] = {}
    for r in inp.notes.iter_rows(named=True):
        notes_by.setdefault(r["response_id"], []).append((r["coder"], r["note"]))

    cases = ET.SubElement(root, _q("Cases"))
    for r in rows:
        case = ET.SubElement(
            cases, _q("Case"), guid=guid("case", month, r["response_id"]), name=r["response_id"]
        )
        for name, kind in present:
            value = r.get(name)
            if kind == "Boolean" and value is not None:
                _variable_value(case, var_guids[name], kind, bool(value))
            elif (text := _cell_text(value)) is not None:
                _variable_value(case, var_guids[name], kind, text)
        ET.SubElement(case, _q("SourceRef"), targetGUID=guid("source", month, r["response_id"]))

    sources = ET.SubElement(root, _q("Sources"))
    files: dict[str, str] = {}
    note_elements: list[ET.Element] = []
    for r in rows:
        rid, text = r["response_id"], r["text"] or ""
        src_guid = guid("source", month, rid)
        files[f"{src_guid}.txt"] = text
        src = ET.SubElement(
            sources,
            _q("TextSource"),
            guid=src_guid,
            name=rid,
            plainTextPath=f"internal://{src_guid}.txt",
            creatingUser=users[MACHINE_USER],
            creationDateTime=inp.stamp,
        )
        if rid in notes_by:
            # The notes also as the source's description: QualCoder reads a Note only as a journal
            # (plainTextPath) or an annotation (a selection inside the Note), so it dropped ours;
            # every program shows a source's Description as the document's memo.
            ET.SubElement(src, _q("Description")).text = "\n".join(
                f"Note by {coder}: {note}" for coder, note in notes_by[rid]
            )
        for who in sorted({w for (i, w) in codes_by if i == rid}):
            sel = ET.SubElement(
                src,
                _q("PlainTextSelection"),
                guid=guid("selection", month, rid, who),
                name=f"{rid} ({who})",
                startPosition="0",
                endPosition=str(len(text)),
                creatingUser=users[who],
                creationDateTime=inp.stamp,
            )
            for code_id in sorted(set(codes_by[(rid, who)])):
                coding = ET.SubElement(
                    sel,
                    _q("Coding"),
                    guid=guid("coding", month, rid, who, code_id),
                    creatingUser=users[who],
                    creationDateTime=inp.stamp,
                )
                ET.SubElement(coding, _q("CodeRef"), targetGUID=guid("code", month, code_id))
        for k, (coder, note) in enumerate(notes_by.get(rid, [])):
            n_guid = guid("note", month, rid, coder, str(k))
            ET.SubElement(src, _q("NoteRef"), targetGUID=n_guid)
            note_el = ET.Element(
                _q("Note"),
                guid=n_guid,
                name=f"Note by {coder} on {rid}",
                creatingUser=users.get(coder, users[MACHINE_USER]),
                creationDateTime=inp.stamp,
            )
            ET.SubElement(note_el, _q("PlainTextContent")).text = note
            note_elements.append(note_el)
    if note_elements:
        ET.SubElement(root, _q("Notes")).extend(note_elements)
    desc = ET.SubElement(root, _q("Description"))
    desc.text = (
        (
            "SYNTHETIC reference data generated by joinedup, not real answers.\n"
            if inp.synthetic
            else ""
        )
        + f"Just One Question {month}: {inp.frame.question}\n"
        f"{STATE_PREFIX}{json.dumps(dict(inp.state), sort_keys=True)}"
    )
    return _serialise(root), files


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QdaCode:
    guid: str
    name: str
    description: str
    codable: bool
    parent: str | None  # parent code's name
    code_id: str | None = None  # from our "[joinedup code id: ...]" line, when present


@dataclass
class ParsedProject:
    """What a project file says, before it is matched to a month."""

    codes: list[QdaCode]
    users: dict[str, str]  # guid -> name
    sources: dict[str, str]  # guid -> name
    # one row per coding: source_guid, code_guid, user (name or None), created (str or "")
    codings: list[tuple[str, str, str | None, str]]
    state: dict[str, object]
    notes: int = 0


def _parse_xml(data: bytes, what: str) -> ET.Element:
    if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data:
        raise InputError(
            f"{what} declares a DOCTYPE or entities, which are not accepted",
            fix="export the project again from the QDA program",
        )
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        raise InputError(
            f"{what} is not well-formed XML ({err})",
            fix="export the project again from the QDA program",
        ) from None


def _ns_of(el: ET.Element) -> str:
    return el.tag[1:].split("}")[0] if el.tag.startswith("{") else ""


def _walk_codes(parent: ET.Element, ns: str, under: str | None, out: list[QdaCode]) -> None:
    for el in parent.findall(_q("Code", ns)):
        desc = el.findtext(_q("Description", ns)) or ""
        m = CODE_ID_LINE.search(desc)
        out.append(
            QdaCode(
                guid=_norm_guid(el.get("guid")),
                name=(el.get("name") or "").strip(),
                description=desc,
                codable=(el.get("isCodable") or "true").strip().lower() in ("true", "1"),
                parent=under,
                code_id=m.group(1) if m else None,
            )
        )
        _walk_codes(el, ns, (el.get("name") or "").strip(), out)


def parse_codebook(data: bytes, what: str = "the codebook") -> list[QdaCode]:
    """Codes from a ``.qdc`` (codebook namespace) or a ``project.qde`` (project namespace)."""
    root = _parse_xml(data, what)
    ns = _ns_of(root)
    book = root if root.tag == _q("CodeBook", ns) else root.find(_q("CodeBook", ns))
    codes_el = book.find(_q("Codes", ns)) if book is not None else None
    if codes_el is None:
        raise InputError(
            f"{what} has no CodeBook/Codes element",
            fix="export the codebook (.qdc) or project (.qdpx) again",
        )
    out: list[QdaCode] = []
    _walk_codes(codes_el, ns, None, out)
    return out


def parse_project(data: bytes, what: str = "project.qde") -> ParsedProject:
    root = _parse_xml(data, what)
    ns = _ns_of(root)
    if root.tag != _q("Project", ns):
        raise InputError(
            f"{what} is not a REFI-QDA project (root element {root.tag!r})",
            fix="pass the .qdpx file exported by the QDA program",
        )
    users = {
        _norm_guid(u.get("guid")): (u.get("name") or u.get("id") or "").strip()
        for u in root.iter(_q("User", ns))
    }
    default_user = _norm_guid(root.get("creatingUserGUID")) or None
    sources: dict[str, str] = {}
    codings: list[tuple[str, str, str | None, str]] = []
    src_tags = ("TextSource", "PDFSource", "PictureSource", "AudioSource", "VideoSource")
    sources_el = root.find(_q("Sources", ns))
    for src in list(sources_el) if sources_el is not None else []:
        if src.tag not in {_q(t, ns) for t in src_tags}:
            continue
        sg = _norm_guid(src.get("guid"))
        sources[sg] = (src.get("name") or "").strip()
        holders = [(src, src)] + [(src, sel) for sel in src if sel.tag.endswith("Selection")]
        for _, holder in holders:
            for coding in holder.findall(_q("Coding", ns)):
                ref = coding.find(_q("CodeRef", ns))
                if ref is None:
                    continue
                user = (
                    _norm_guid(coding.get("creatingUser"))
                    or _norm_guid(holder.get("creatingUser"))
                    or default_user
                )
                codings.append(
                    (
                        sg,
                        _norm_guid(ref.get("targetGUID")),
                        user,
                        coding.get("creationDateTime") or "",
                    )
                )
    state: dict[str, object] = {}
    for line in (root.findtext(_q("Description", ns)) or "").splitlines():
        if line.startswith(STATE_PREFIX):
            try:
                state = json.loads(line[len(STATE_PREFIX) :])
            except json.JSONDecodeError:
                state = {}
    notes_el = root.find(_q("Notes", ns))
    return ParsedProject(
        codes=parse_codebook(data, what),
        users=users,
        sources=sources,
        codings=codings,
        state=state,
        notes=len(notes_el) if notes_el is not None else 0,
    )


@dataclass
class Matched:
    """A parsed project matched to a month: human decisions, and everything that did not match."""

    decisions: dict[str, dict[str, frozenset[str]]]  # coder -> response_id -> codes
    order: dict[str, str]  # coder -> latest coding time (for storing in time order)
    unknown_codes: list[str]  # names of codable codes used or defined that the frame lacks
    unused_frame_codes: list[str]  # frame code ids the file's codebook does not have
    unknown_sources: list[str]  # source names that are no answer of this month
    machine_codings: int
    unattributed: int  # codings with no user at all
    frame_diff: list[str] = field(default_factory=list)  # label/definition changes, readable


def match_project(
    parsed: ParsedProject, frame: Frame, known_ids: Iterable[str], default_coder: str | None
) -> Matched:
    """Match codes (our GUID, our code-id line, then label or id), sources (our GUID, then name)
    and users; a coding by the machine user is the machine's, not a decision."""
    month = frame.month
    by_guid = {guid("code", month, c.id): c.id for c in frame.codes}
    by_name = {c.label.casefold(): c.id for c in frame.codes} | {c.id: c.id for c in frame.codes}
    code_of: dict[str, str] = {}
    unknown: list[str] = []
    diff: list[str] = []
    for qc in parsed.codes:
        if not qc.codable:
            continue
        cid = by_guid.get(qc.guid) or (qc.code_id if qc.code_id in frame.code_ids() else None)
        cid = cid or by_name.get(qc.name.casefold())
        if cid is None:
            unknown.append(qc.name)
            continue
        code_of[qc.guid] = cid
        ours = frame.code(cid)
        if qc.name != ours.label:
            diff.append(f"code '{cid}': label '{ours.label}' is '{qc.name}' in the file")
        if qc.description and qc.description.strip() != code_description(ours).strip():
            diff.append(f"code '{cid}': description differs in the file")
    unused = sorted(set(frame.code_ids()) - set(code_of.values()))
    known = set(known_ids)
    by_src_guid = {guid("source", month, rid): rid for rid in known}
    rid_of: dict[str, str] = {}
    unknown_sources: list[str] = []
    for sg, name in parsed.sources.items():
        rid = by_src_guid.get(sg) or (name if name in known else None)
        if rid is None:
            unknown_sources.append(name or sg)
        else:
            rid_of[sg] = rid
    # By name as well as by our GUID: a program that re-exports the project (QualCoder does) gives
    # every user a new GUID but keeps the name, and machine codes must never become decisions.
    machine_guids = {guid("user", MACHINE_USER)} | {
        g for g, n in parsed.users.items() if n == MACHINE_USER
    }
    decisions: dict[str, dict[str, set[str]]] = {}
    order: dict[str, str] = {}
    machine = unattributed = 0
    for sg, cg, user, created in parsed.codings:
        if sg not in rid_of:
            continue
        if cg not in code_of:
            name = next((c.name for c in parsed.codes if c.guid == cg), cg)
            if name not in unknown:
                unknown.append(name)
            continue
        if user in machine_guids:
            machine += 1
            continue
        coder = parsed.users.get(user or "", "") or default_coder
        if not coder:
            unattributed += 1
            continue
        decisions.setdefault(coder, {}).setdefault(rid_of[sg], set()).add(code_of[cg])
        order[coder] = max(order.get(coder, ""), created)
    return Matched(
        decisions={c: {r: frozenset(v) for r, v in d.items()} for c, d in decisions.items()},
        order=order,
        unknown_codes=unknown,
        unused_frame_codes=unused,
        unknown_sources=sorted(unknown_sources),
        machine_codings=machine,
        unattributed=unattributed,
        frame_diff=diff,
    )


# --- a codebook from another tool seeds a frame ---------------------------------------------------


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_") or "code"
    base = base if base[0].isalpha() else f"c_{base}"
    base = base[:40].rstrip("_")
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}_{k}", k + 1
    taken.add(slug)
    return slug


def _split_description(desc: str) -> tuple[str, list[str], list[str]]:
    definition, include, exclude = [], [], []
    for line in desc.splitlines():
        s = line.strip()
        if CODE_ID_LINE.match(s) or s.startswith("[joinedup theme id:"):
            continue
        if s.lower().startswith("include:"):
            include += [p.strip() for p in s[8:].split(";") if p.strip()]
        elif s.lower().startswith("exclude:"):
            exclude += [p.strip() for p in s[8:].split(";") if p.strip()]
        elif s:
            definition.append(s)
    return " ".join(definition), include, exclude


def frame_from_codebook(
    codes: list[QdaCode], month: str, taxonomy: Taxonomy
) -> tuple[dict, list[str]]:
    """A draft frame (as a plain dict, ready for YAML) and notes on every choice made: each codable
    code becomes a code; its parent names the taxonomy theme when a theme's id or label matches,
    else the code goes under 'other' and a note says so."""
    theme_by = {t.id: t.id for t in taxonomy.themes} | {
        t.label.casefold(): t.id for t in taxonomy.themes
    }
    notes: list[str] = []
    taken: set[str] = {OTHER}
    out_codes: list[dict] = []
    for qc in codes:
        if not qc.codable:
            continue
        if qc.name.casefold() in (OTHER, "other"):
            continue
        theme_line = None
        parent = next((p for p in codes if p.name == qc.parent), None)
        if parent is not None:
            m = re.search(r"\[joinedup theme id: ([a-z0-9_]+)\]", parent.description)
            theme_line = m.group(1) if m else None
        theme = (
            theme_line
            or theme_by.get((qc.parent or "").casefold())
            or theme_by.get((qc.parent or "").strip())
        )
        if theme is None:
            theme = OTHER
            notes.append(
                f"code '{qc.name}': parent '{qc.parent or '(none)'}' matches no taxonomy theme; "
                "filed under 'other' (change its theme)"
            )
        cid = qc.code_id if qc.code_id and qc.code_id not in taken else _slug(qc.name, taken)
        taken.add(cid)
        definition, include, exclude = _split_description(qc.description)
        out_codes.append(
            {
                "id": cid,
                "label": qc.name,
                "definition": definition,
                "theme": theme,
                "include": include,
                "exclude": exclude,
            }
        )
    out_codes.append(
        {
            "id": OTHER,
            "label": "Other",
            "definition": "",
            "theme": OTHER,
            "include": [],
            "exclude": [],
        }
    )
    frame = {"month": month, "version": 1, "status": "draft", "question": "", "codes": out_codes}
    return frame, notes
