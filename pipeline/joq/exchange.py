"""REFI-QDA exchange at the edges: read the store and write ``.qdpx``/``.qdc`` files, read a
project coded in NVivo, MAXQDA, ATLAS.ti or QualCoder back into human decisions, and seed a frame
from another tool's codebook. The XML itself is ``refiqda.py``'s (pure)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from pipeline.core.errors import InputError, SpecError
from pipeline.core.safety.atomic import atomic_write_bytes, atomic_write_text
from pipeline.core.safety.redact import Redactor
from pipeline.core.timeutil import generation_stamp
from pipeline.joq import refiqda, review, store
from pipeline.joq.frames import parse_frame

MAX_PROJECT_BYTES = 256 << 20  # an uncompressed project.qde above this is refused (zip bombs)
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # same inputs, same bytes


def _require_coded(s, month: str) -> pl.DataFrame:
    responses = store.responses(s.con, month, usable_only=True)
    if responses.height == 0:
        raise InputError(
            f"month {month} has not been imported",
            fix=f"run `joinedup joq import FILE --month {month}` first",
        )
    return responses


def _export_input(s, month: str, redactor: Redactor) -> refiqda.ExportInput:
    frame = s.frame(month)
    responses = _require_coded(s, month)
    final = store.final_codes(s.con, month)
    if final.height == 0:
        raise InputError(
            f"month {month} has not been coded", fix=f"run `joinedup joq code {month}` first"
        )
    labels = {sec.code: sec.label for sec in frame.sectors}
    cols = [c for c in ("role", "region", "sectors", "consent") if c in responses.columns]
    resp = responses.select("response_id", "text", *cols).with_columns(
        pl.col("text").map_elements(redactor.redact, pl.String)
    )
    if "sectors" in cols:
        resp = resp.with_columns(
            pl.col("sectors").list.eval(pl.element().replace(labels)).alias("sectors")
        )
    notes = store.query(
        s.con,
        "SELECT response_id, coder, note FROM joq_decisions WHERE month = ? AND note IS NOT NULL "
        "AND trim(note) <> '' ORDER BY seq",
        [month],
    ).with_columns(pl.col("note").map_elements(redactor.redact, pl.String))
    seq = s.con.execute(
        "SELECT coalesce(max(seq), 0) FROM joq_decisions WHERE month = ?", [month]
    ).fetchall()[0][0]
    return refiqda.ExportInput(
        frame=frame,
        taxonomy=s.taxonomy(),
        responses=resp,
        final=final.select("response_id", "code_id", "method"),
        notes=notes,
        stamp=generation_stamp(),
        state={"month": month, "decision_seq": int(seq), "frame_version": frame.version},
        synthetic=bool((store.current_import(s.con, month) or {}).get("synthetic")),
    )


def qdpx_bytes(project: bytes, files: dict[str, str]) -> bytes:
    """A ``.qdpx``: ``project.qde`` plus ``Sources/``, with fixed timestamps and order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        entries = [("project.qde", project)] + [
            (f"Sources/{name}", text.encode("utf-8")) for name, text in sorted(files.items())
        ]
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


@dataclass
class ExportResult:
    qdpx: Path | None
    qdc: Path | None
    sources: int
    codings: int
    users: list[str]

    def summary(self) -> str:
        written = ", ".join(str(p) for p in (self.qdpx, self.qdc) if p)
        return (
            f"wrote {written}: {self.sources} answers, {self.codings} codings by "
            f"{', '.join(self.users)}"
        )


def export_month(
    s, month: str, qdpx: Path | None = None, qdc: Path | None = None, names: list[str] | None = None
) -> ExportResult:
    """Write the month as a REFI-QDA project and/or codebook. Respondent text and notes are
    redacted for contact details (and ``names``) as in the review sheet."""
    if qdpx is None and qdc is None:
        raise InputError("nothing to export", fix="pass --qdpx FILE and/or --qdc FILE")
    redactor = Redactor(names or [])
    inp = _export_input(s, month, redactor)
    if qdpx is not None:
        project, files = refiqda.project_xml(inp)
        atomic_write_bytes(Path(qdpx), qdpx_bytes(project, files))
    if qdc is not None:
        atomic_write_bytes(Path(qdc), refiqda.codebook_xml(inp.frame, inp.taxonomy))
    users = sorted(
        {m.removeprefix("human:") for m in inp.final["method"] if m.startswith("human:")}
    )
    return ExportResult(
        qdpx, qdc, inp.responses.height, inp.final.height, [refiqda.MACHINE_USER, *users]
    )


def read_project_file(path: Path) -> bytes:
    """``project.qde`` from a ``.qdpx`` zip (or a bare ``.qde`` file)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path, fix="check the path") from None
    if not raw.startswith(b"PK"):
        return raw
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".qde")]
            if len(names) != 1:
                raise InputError(
                    f"the project holds {len(names)} .qde files (expected project.qde)",
                    file=path,
                    fix="export the project again as REFI-QDA (.qdpx) from the QDA program",
                )
            if z.getinfo(names[0]).file_size > MAX_PROJECT_BYTES:
                raise InputError("project.qde is larger than 256 MB", file=path)
            return z.read(names[0])
    except zipfile.BadZipFile:
        raise InputError(
            "not a readable .qdpx (zip) file",
            file=path,
            fix="export the project again as REFI-QDA (.qdpx)",
        ) from None


@dataclass
class QdpxImport:
    month: str
    stored: dict[str, int]  # coder -> decisions stored
    matched: refiqda.Matched
    foreign: bool  # not written by joinedup (no state): no staleness check was possible
    notes_in_file: int
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        m = self.matched
        total = sum(self.stored.values())
        lines = [
            f"{self.month}: {total} decision(s) stored"
            + (
                f" ({', '.join(f'{c}: {n}' for c, n in sorted(self.stored.items()))})"
                if total
                else ""
            )
            + f"; {m.machine_codings} machine codings left as machine codes"
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def import_qdpx(
    s,
    month: str,
    path: Path,
    coder: str | None = None,
    force: bool = False,
    ignore_unknown: bool = False,
) -> QdpxImport:
    """Every coding by a person becomes that person's decision for the answer (the set of codes
    they applied to it), stored through the review sheet's path; machine codings stay machine's."""
    frame = s.frame(month)
    responses = _require_coded(s, month)
    parsed = refiqda.parse_project(read_project_file(path), f"{Path(path).name}: project.qde")
    matched = refiqda.match_project(parsed, frame, responses["response_id"].to_list(), coder)
    warnings: list[str] = []
    if matched.unknown_codes and not ignore_unknown:
        raise InputError(
            f"{len(matched.unknown_codes)} code(s) in the file are not in the {month} frame: "
            + ", ".join(repr(n) for n in matched.unknown_codes[:20]),
            file=path,
            fix=f"add them to coding_frames/joq/{month}.yaml (same label), or pass "
            "--ignore-unknown to store the rest and list these",
        )
    if matched.unknown_codes:
        warnings.append(
            f"codings under {len(matched.unknown_codes)} unknown code(s) not stored: "
            + ", ".join(repr(n) for n in matched.unknown_codes)
        )
    if matched.unattributed:
        raise InputError(
            f"{matched.unattributed} coding(s) name no user, so no coder can be recorded",
            file=path,
            fix="pass --coder INITIALS to record them as that person's decisions",
        )
    if matched.unknown_sources:
        warnings.append(
            f"{len(matched.unknown_sources)} source(s) are no answer of {month} and were skipped: "
            + ", ".join(matched.unknown_sources[:10])
        )
    if matched.unused_frame_codes:
        warnings.append(
            "frame codes missing from the file's codebook: " + ", ".join(matched.unused_frame_codes)
        )
    warnings += [f"codebook differs from the frame (not applied): {d}" for d in matched.frame_diff]
    foreign = not parsed.state
    if foreign:
        warnings.append("the file was not exported by joinedup: no check against later decisions")
    elif parsed.state.get("month") != month:
        raise InputError(
            f"the file was exported for month {parsed.state.get('month')}, not {month}", file=path
        )
    latest = store.latest_decisions(s.con, month)
    current = {
        r: frozenset(c or [])
        for r, c in zip(latest["response_id"].to_list(), latest["codes"].to_list(), strict=True)
    }
    changes = {
        c: {r: codes for r, codes in d.items() if current.get(r) != codes}
        for c, d in matched.decisions.items()
    }
    if not foreign and not force:
        since = int(parsed.state.get("decision_seq", 0) or 0)
        later = set(
            store.query(
                s.con,
                "SELECT DISTINCT response_id FROM joq_decisions WHERE month = ? AND seq > ?",
                [month, since],
            )["response_id"].to_list()
        )
        stale = sorted({r for d in changes.values() for r in d} & later)
        if stale:
            raise InputError(
                f"{len(stale)} answer(s) were decided in joinedup after this file was exported: "
                + ", ".join(stale[:20]),
                file=path,
                fix="export the month again and redo those answers, or pass --force to let the "
                "file's coding win",
            )
    stored: dict[str, int] = {}
    for who in sorted(changes, key=lambda c: (matched.order.get(c, ""), c)):
        rows = changes[who]
        if not rows:
            continue
        df = pl.DataFrame(
            {
                "response_id": sorted(rows),
                "codes": [sorted(rows[r]) for r in sorted(rows)],
                "exclude_quote": [None] * len(rows),
                "note": [None] * len(rows),
            },
            schema={
                "response_id": pl.String,
                "codes": pl.List(pl.String),
                "exclude_quote": pl.Boolean,
                "note": pl.String,
            },
        )
        stored[who] = review.store_decisions(s.con, month, df, who)
    if parsed.notes:
        warnings.append(f"{parsed.notes} note(s)/memo(s) in the file were not imported")
    return QdpxImport(month, stored, matched, foreign, parsed.notes, warnings)


def frame_from_qdc(s, path: Path, month: str, force: bool = False) -> tuple[Path, list[str]]:
    """Seed ``coding_frames/joq/<month>.yaml`` (status draft) from another tool's codebook."""
    target = Path(s.frames_dir) / f"{month}.yaml"
    if target.exists() and not force:
        raise InputError(
            "a frame for this month exists already",
            file=target,
            fix="pass --force to replace it, or choose another --month",
        )
    raw = read_project_file(path)
    codes = refiqda.parse_codebook(raw, Path(path).name)
    tax = s.taxonomy()
    doc, notes = refiqda.frame_from_codebook(codes, month, tax)
    try:
        parse_frame(doc, target, tax)  # the draft must load as it is written
    except SpecError as err:
        raise InputError(f"the codebook does not make a valid frame: {err}", file=path) from None
    header = (
        f"# Draft frame for {month} seeded from {Path(path).name} by `joinedup joq "
        "frame-from-qdc`.\n# Review every code (theme, definition, phrases), then set status: "
        "reviewed.\n" + "".join(f"# note: {n}\n" for n in notes)
    )
    atomic_write_text(target, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return target, notes
