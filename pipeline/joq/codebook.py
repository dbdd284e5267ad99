"""The coding frame as a ``codebook`` sheet and back: edit codes in Excel, store them as YAML.

Why: writing YAML by hand (12-digit exemplar ids, copied texts, colons in labels) kept coders from
owning their frame. The sheet shows one row per code; a coder edits cells, adds rows, or writes an
action (``delete``, ``merge into ID``, ``rename to ID``). Exemplars are given by the answer's
``no`` (its export row, shown in every answer sheet) or its response id; their text is copied from
the imported answers, never typed. The result is validated as any frame file is, and every problem
names the codebook row and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl
import yaml

from pipeline.core.errors import Problems, ReviewError
from pipeline.joq.frames import OTHER, Code, Exemplar, Frame, Taxonomy, parse_frame
from pipeline.joq.workbook import row_digest

COLUMNS = (
    "id",
    "label",
    "theme",
    "definition",
    "include",
    "exclude",
    "exemplars",
    "memo",
    "action",
)
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
EDITABLE = ("label", "theme", "definition", "include", "exclude", "exemplars", "memo")


def _join(items: Sequence[str]) -> str:
    return "; ".join(items)


def _split(cell: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;\n]", cell or "") if p.strip()]


def codebook_frame(frame: Frame, numbers: Mapping[str, int]) -> pl.DataFrame:
    """One row per code; exemplars as answer numbers (``no``) where the answer is imported."""
    return pl.DataFrame(
        {
            "id": [c.id for c in frame.codes],
            "label": [c.label for c in frame.codes],
            "theme": [c.theme for c in frame.codes],
            "definition": [c.definition for c in frame.codes],
            "include": [_join(c.include) for c in frame.codes],
            "exclude": [_join(c.exclude) for c in frame.codes],
            "exemplars": [
                _join([str(numbers.get(e.response_id, e.response_id)) for e in c.exemplars])
                for c in frame.codes
            ],
            "memo": [c.memo for c in frame.codes],
            "action": [""] * len(frame.codes),
        },
        schema=dict.fromkeys(COLUMNS, pl.String),
    )


def _action(cell: str) -> tuple[str, str]:
    a = " ".join(cell.lower().split())
    if not a:
        return "", ""
    if a == "delete":
        return "delete", ""
    m = re.fullmatch(r"(merge into|rename to)\s+([a-z0-9_]+)", a)
    if m:
        return m.group(1).split()[0], m.group(2)
    return "bad", a


def apply_codebook(
    frame: Frame,
    rows: list[tuple[int, dict[str, str]]],
    taxonomy: Taxonomy,
    texts: Mapping[str, str],
    by_number: Mapping[int, str],
    file: Path,
    written: Mapping[str, str] | None = None,
    numbers: Mapping[str, int] | None = None,
    force: bool = False,
) -> tuple[Frame, list[str]]:
    """The frame the codebook sheet describes, and what changed (empty when nothing did).

    ``texts``: response id -> answer text (exemplar texts are copied from here); ``by_number``:
    answer ``no`` -> response id. ``written``: code id -> digest of its row when the sheet was
    written: a row still equal to it is untouched, and the current frame's code stands (so a
    stale sheet never reverts another coder's codebook edits); a row edited here whose code has
    changed in the frame since is a conflict, refused unless ``force``. Raises ReviewError
    naming each bad codebook row."""
    written = dict(written or {})
    current = {
        r["id"]: row_digest(r, COLUMNS)
        for r in codebook_frame(frame, numbers or {}).iter_rows(named=True)
    }
    untouched: set[str] = set()
    gone: set[str] = set()
    done = frame.aliases()  # ids merged or renamed away already
    clashes: list[str] = []
    probs = Problems()
    fname = str(file)
    themes = set(taxonomy.ids())
    old = {c.id: c for c in frame.codes}
    built: dict[str, Code] = {}
    actions: list[tuple[int, str, str, str]] = []  # row, kind, code id, target
    seen_rows: dict[str, int] = {}
    for i, cells in rows:
        where = f"codebook row {i}"
        cid = cells.get("id", "").strip()
        if not ID_RE.match(cid):
            probs.add(
                f"{where}: code id '{cid[:40]}' must be lower case letters, digits and _ "
                "starting with a letter",
                file=fname,
                column="id",
            )
            continue
        if cid in seen_rows:
            probs.add(
                f"{where}: id '{cid}' is also on row {seen_rows[cid]}", file=fname, column="id"
            )
            continue
        seen_rows[cid] = i
        digest = row_digest(cells, COLUMNS)
        if (cid in written and digest == written[cid]) or digest == current.get(cid):
            untouched.add(cid)  # as written, or already in the frame: the frame's code stands
            continue
        theme = cells.get("theme", "").strip()
        if theme not in themes:
            probs.add(
                f"{where}: theme '{theme[:40]}' is not in the taxonomy",
                file=fname,
                column="theme",
                fix=f"use one of: {', '.join(sorted(themes))}",
            )
            continue
        if not cells.get("label", "").strip():
            probs.add(f"{where}: code '{cid}' has no label", file=fname, column="label")
            continue
        exemplars: list[Exemplar] = []
        for ref in _split(cells.get("exemplars", "")):
            rid = by_number.get(int(ref)) if ref.isdigit() else ref
            if rid is None or rid not in texts:
                probs.add(
                    f"{where}: exemplar '{ref[:40]}' is not an imported answer "
                    "(give its 'no' or its response id)",
                    file=fname,
                    column="exemplars",
                )
                continue
            if rid not in {e.response_id for e in exemplars}:
                exemplars.append(Exemplar(response_id=rid, text=texts[rid]))
        kind, target = _action(cells.get("action", ""))
        if kind == "bad":
            probs.add(
                f"{where}: action '{target[:40]}' is not one of: delete, merge into ID, rename to ID",
                file=fname,
                column="action",
            )
            continue
        prev = old.get(cid)
        code = Code(
            id=cid,
            label=cells["label"].strip(),
            theme=theme,
            definition=cells.get("definition", "").strip(),
            include=_split(cells.get("include", "")),
            exclude=_split(cells.get("exclude", "")),
            exemplars=exemplars,
            memo=cells.get("memo", "").strip(),
            replaces=prev.replaces if prev else [],
            version=prev.version if prev else 1,
        )
        if cid in done or (kind == "delete" and cid not in old and cid in written):
            gone.add(cid)  # merged, renamed or deleted by an earlier apply of this sheet
            continue
        if prev is not None and not kind and _same(code, prev):
            untouched.add(cid)  # the frame already says this (applied before)
            continue
        if cid in written and current.get(cid) != written[cid]:
            clashes.append(cid)  # edited here and changed in the frame since
        built[cid] = code
        if kind:
            actions.append((i, kind, cid, target))
    if clashes and not force:
        probs.add(
            f"code(s) {', '.join(clashes)} were changed in the frame after this sheet was "
            "written, and edited here too",
            file=fname,
            fix="write a fresh sheet and redo those codebook edits, or pass --force to let this "
            "sheet's version win",
        )
    for cid in old:
        if (cid in written or not written) and cid not in seen_rows:
            probs.add(
                f"code '{cid}' is missing from the codebook sheet",
                file=fname,
                fix="put its row back, or write 'delete' in its action cell",
            )
    probs.raise_if_any(
        ReviewError, "the codebook sheet has problems; nothing was applied", file=file
    )
    changes: list[str] = []
    order = [
        r for r in seen_rows if (r in built or r in untouched) and r not in gone
    ]  # sheet order; a renamed
    # code keeps its place
    for i, kind, cid, target in actions:
        code = built.pop(cid, None)
        if code is None:
            continue
        if cid == OTHER:
            probs.add(f"codebook row {i}: the 'other' code cannot be {kind}d", file=fname)
            built[cid] = code
            continue
        if kind == "delete":
            changes.append(f"deleted code {cid}")
        elif kind == "rename":
            if target in built or (target in old and target != cid):
                probs.add(f"codebook row {i}: id '{target}' is already used", file=fname)
                built[cid] = code
                continue
            built[target] = code.model_copy(
                update={"id": target, "replaces": [*code.replaces, cid]}
            )
            order[order.index(cid)] = target
            changes.append(f"renamed code {cid} to {target}")
        else:  # merge
            into = built.get(target)
            if into is None:
                probs.add(
                    f"codebook row {i}: cannot merge into '{target}': no such code",
                    file=fname,
                    column="action",
                )
                built[cid] = code
                continue
            have = {e.response_id for e in into.exemplars}
            built[target] = into.model_copy(
                update={
                    "include": [*into.include, *(p for p in code.include if p not in into.include)],
                    "exclude": [*into.exclude, *(p for p in code.exclude if p not in into.exclude)],
                    "exemplars": [
                        *into.exemplars,
                        *(e for e in code.exemplars if e.response_id not in have),
                    ],
                    "replaces": [*into.replaces, cid, *code.replaces],
                }
            )
            changes.append(f"merged code {cid} into {target}")
    probs.raise_if_any(
        ReviewError, "the codebook sheet has problems; nothing was applied", file=file
    )
    # untouched rows: the current frame's code (if it still exists); codes added to the frame
    # after the sheet was written (not in ``written``) are kept, before 'other'
    kept = [
        built[k] if k in built else old[k]
        for k in order
        if k in built or (k in untouched and k in old)
    ]
    if written:
        kept += [c for cid, c in old.items() if cid not in written and cid not in seen_rows]
    codes = []
    for c in [c for c in kept if c.id != OTHER] + [c for c in kept if c.id == OTHER]:
        before = old.get(c.id)
        if before is None:
            if not any(c.id in ch.split() for ch in changes):
                changes.append(f"added code {c.id} ({c.label})")
            codes.append(c)
            continue
        diff = [f for f in EDITABLE if getattr(c, f) != getattr(before, f)]
        if diff:
            changes.append(f"edited {c.id}: {', '.join(diff)}")
            c = c.model_copy(update={"version": before.version + 1})
        codes.append(c)
    if not changes:
        return frame, []
    new = frame.model_copy(update={"codes": codes, "version": frame.version + 1})
    checked = parse_frame(new.model_dump(mode="json"), file, taxonomy)
    return checked, changes


def _same(a: Code, b: Code) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in EDITABLE)


def add_codes(frame: Frame, new: Mapping[str, str]) -> tuple[Frame, list[str]]:
    """The frame with codes typed in ``new_code`` added (theme 'other' until the codebook says)."""
    if not new:
        return frame, []
    added = [
        Code(id=cid, label=label, theme=OTHER, memo="added from a review sheet")
        for cid, label in sorted(new.items())
    ]
    body = [c for c in frame.codes if c.id != OTHER]
    tail = [c for c in frame.codes if c.id == OTHER]
    return (
        frame.model_copy(update={"codes": [*body, *added, *tail], "version": frame.version + 1}),
        [f"added code {c.id} ({c.label}) from new_code" for c in added],
    )


def frame_yaml(frame: Frame) -> str:
    """The stored form: plain YAML in the frame's field order (empty memo/replaces left out)."""
    data = frame.model_dump(mode="json")
    for c in data["codes"]:
        for key in ("memo", "replaces"):
            if not c[key]:
                del c[key]
    head = f"# JOQ coding frame {frame.month}, version {frame.version}; edited through the codebook sheet\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
