"""Write the synthetic export as SurveyMonkey does: CSV (UTF-8 with BOM, CRLF) and XLSX.

Both files carry the same two header rows and cells. Bytes are deterministic: the XLSX has
fixed document timestamps and fixed zip entry dates. The export is written raw, as SurveyMonkey
would, so hostile text stays hostile (the pipeline must neutralise it on the way out).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from pipeline.core.safety.atomic import atomic_write_bytes, atomic_write_text

FIXED_TIME = datetime(2025, 2, 7, 9, 0, 0)  # the day after fieldwork closed
ZIP_TIME = (2025, 2, 7, 9, 0, 0)

Table = Sequence[Sequence[str]]


def csv_bytes(rows: Table) -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: Table) -> bytes:
    """Every cell a string (a leading '=' stays text, not a formula), sheet 'Sheet'."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value != "":
                cell = ws.cell(row=r, column=c)
                cell.value = value
                cell.data_type = "s"
    wb.properties.creator = "joinedup synthetic reference generator"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    wb.save(raw)
    return _fixed_zip(raw.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """Re-pack a zip with fixed entry dates and order, so the same workbook is the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _fixed_core(body)
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, body)
    return out.getvalue()


def _fixed_core(body: bytes) -> bytes:
    """openpyxl stamps 'modified' with the save time; pin it."""
    import re

    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", body)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_outputs(out: Path, stem: str, rows: Table) -> dict[Path, str]:
    """Write ``<stem>.csv`` and ``<stem>.xlsx`` under ``out``; return path -> SHA-256."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[Path, str] = {}
    for path, data in (
        (out / f"{stem}.csv", csv_bytes(rows)),
        (out / f"{stem}.xlsx", xlsx_bytes(rows)),
    ):
        atomic_write_bytes(path, data)
        written[path] = sha256(data)
    return written


def update_checksums(listing: Path, hashes: dict[str, str]) -> None:
    """Replace our lines in the shared sha256sum listing, keep everyone else's, sort by path."""
    lines: dict[str, str] = {}
    if listing.exists():
        for line in listing.read_text(encoding="utf-8").splitlines():
            if line.strip():
                digest, _, name = line.partition("  ")
                lines[name.strip()] = digest
    lines.update(hashes)
    text = "".join(f"{d}  {n}\n" for n, d in sorted(lines.items()))
    atomic_write_text(listing, text)
