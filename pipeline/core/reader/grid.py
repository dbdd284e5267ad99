"""Read an export file into a grid of strings: decoding, CSV/XLSX parsing, shape checks.

Nothing here knows about questions. Every failure is an ``InputError`` naming the file, the
1-based row (as a spreadsheet shows it) and what to do; no row is silently dropped or shifted.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import mmap
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.core.errors import InputError

BOM = b"\xef\xbb\xbf"
XLSX_MAGIC = b"PK\x03\x04"
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_COLUMNS = 16_384  # Excel's own limit (column XFD)
_CONTENT = re.compile(rb"[^ \r\n\t]")


@dataclass(frozen=True)
class Grid:
    """The file's cells as strings. ``rows[i]`` is spreadsheet row ``i + 1``.

    A plain, well-formed CSV is parsed by polars instead (``fast_grid``): then ``table`` holds every
    record as one String column per grid column and ``rows`` only the first three (the header
    candidates). Use ``height`` and ``column`` to read cells either way.
    """

    path: Path
    rows: list[list[str]]
    encoding: str  # utf-8, utf-8-sig, cp1252 or xlsx
    sheet: str | None = None
    blank_rows: list[int] = field(default_factory=list)  # 1-based rows that were entirely empty
    numbers: list[int] | None = None  # original 1-based row number of each kept row
    table: pl.DataFrame | None = None  # fast path: every record (no blank rows, all full width)
    first_row: int = 1  # spreadsheet row of ``table``'s first record (a chunk of a large file)
    body: memoryview | None = field(default=None, repr=False)  # large file: parsed chunk by chunk
    parts: tuple[tuple[int, int, int], ...] = ()  # (byte start, byte end, first record) per chunk
    records: int = 0  # large file: number of records
    sha256: str | None = None  # of the file's bytes, when the byte scan computed it on the way
    mapped: int | None = None  # ``body`` is a memory map from this file offset (after any BOM)

    def number(self, index: int) -> int:
        """Spreadsheet row number of ``rows[index]``."""
        if self.table is not None:
            return self.first_row + index
        return self.numbers[index] if self.numbers else index + 1

    @property
    def height(self) -> int:
        if self.parts:
            return self.records
        return self.table.height if self.table is not None else len(self.rows)

    def chunks(self, start: int) -> Iterator[tuple[Grid, int]]:
        """(grid, first record to use) per chunk of rows: the grid itself, or for a large file one
        parsed chunk at a time, so only one chunk's strings are in memory at once."""
        if not self.parts:
            yield self, start
            return
        ends = [p[2] for p in self.parts[1:]] + [self.records]
        for (lo, hi, first), end in zip(self.parts, ends, strict=True):
            table = _parse_part(self.body[lo:hi], self.path)  # type: ignore[index]
            if table.height != end - first:  # polars disagrees with the byte scan: csv module
                table = _csv_part(self.body[lo:hi])  # type: ignore[index]
            if self.mapped is not None:  # a memory-mapped file: this part is parsed, drop it
                _release(self.body.obj, self.mapped + lo, self.mapped + hi)  # type: ignore[union-attr]
            check_cells(table, self.path, first + 1)
            skip = min(max(start - first, 0), table.height)  # header records in this part
            yield Grid(self.path, [], self.encoding, table=table, first_row=first + 1), skip

    def column(self, j: int, start: int, fill: bool = True) -> pl.Series:
        """Cells of 0-based grid column ``j`` from record ``start`` on, as strings; an empty cell
        is "" (``fill``) or may be null (cheaper, for callers that treat both as blank)."""
        if self.parts:
            return pl.concat([g.column(j, s, fill) for g, s in self.chunks(start)])
        if self.table is not None:
            col = self.table.to_series(j).slice(start)
            return col.fill_null("") if fill else col
        return pl.Series([r[j] for r in self.rows[start:]], dtype=pl.String)

    def row_numbers(self, start: int) -> pl.Series:
        """Spreadsheet row numbers of the records from ``start`` on."""
        if self.numbers is None:
            return pl.int_range(
                self.first_row + start, self.first_row + self.height, eager=True, dtype=pl.Int64
            )
        return pl.Series(self.numbers[start:], dtype=pl.Int64)


def decode(raw: bytes, path: Path) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else cp1252; never a silent latin-1 fallback, and never a
    file that is UTF-8 in one place and Windows-1252 in another (see ``choose_encoding``)."""
    body, encoding = choose_encoding(raw, path)
    if encoding == "cp1252":
        try:
            return body.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as err:
            raise _undecodable(raw, path, err.start, "UTF-8 or Windows-1252") from None
    return body.decode("utf-8"), encoding


# a well-formed UTF-8 multi-byte sequence: proof that a file was written as UTF-8
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def choose_encoding(raw: bytes, path: Path) -> tuple[bytes, str]:
    """The file's bytes without any BOM, and its encoding: utf-8-sig, utf-8 or cp1252.

    A file with a UTF-8 BOM, or with any well-formed UTF-8 multi-byte character, was written as
    UTF-8: an invalid byte in it is refused with its offset in the file (BOM counted) and its row,
    rather than re-decoding the whole file as Windows-1252 (mojibake for every other accent).
    """
    bom = raw.startswith(BOM)
    body = raw[len(BOM) :] if bom else raw
    bad = _invalid_utf8_at(body)
    if bad is None:
        return body, "utf-8-sig" if bom else "utf-8"
    offset = bad + (len(BOM) if bom else 0)
    if bom:
        raise _undecodable(raw, path, offset, "UTF-8 (it starts with a UTF-8 BOM)")
    if _UTF8_SEQUENCE.search(body):
        raise _mixed(raw, path, offset)
    return body, "cp1252"


def _invalid_utf8_at(body: bytes, chunk: int = 1 << 24) -> int | None:
    """Offset of the first byte that is not valid UTF-8, without building the decoded string."""
    dec = codecs.getincrementaldecoder("utf-8")()
    start = 0
    try:
        for start in range(0, len(body), chunk):
            pending = len(dec.getstate()[0])
            dec.decode(body[start : start + chunk])
        pending = len(dec.getstate()[0])
        start = len(body)
        dec.decode(b"", final=True)
    except UnicodeDecodeError as err:
        return max(start - pending + err.start, 0)
    return None


def _where(raw: bytes, offset: int) -> str:
    return f"byte 0x{raw[offset]:02x} at offset {offset}" if offset < len(raw) else "the last byte"


def _undecodable(raw: bytes, path: Path, offset: int, tried: str) -> InputError:
    return InputError(
        f"cannot decode {_where(raw, offset)} as {tried}",
        file=path,
        row=raw.count(b"\n", 0, offset) + 1,
        fix="re-save the export as 'CSV UTF-8' (Excel) or download it again from the survey tool",
    )


def _mixed(raw: bytes, path: Path, offset: int) -> InputError:
    return InputError(
        f"cannot decode {_where(raw, offset)}: the file is UTF-8 elsewhere, so this byte is "
        "not Windows-1252 text in a Windows file but a stray byte (mixed encodings)",
        file=path,
        row=raw.count(b"\n", 0, offset) + 1,
        fix="correct that character (often a dash, quote or pound sign pasted from Word) and "
        "save the file as 'CSV UTF-8', or download the export again from the survey tool",
    )


def read_grid(path: Path, sheet: str | None = None) -> Grid:
    """Read a CSV or XLSX export as strings, checking it is non-empty and rectangular."""
    raw = _open(path)
    # a regex stops at the first non-blank byte; bytes.strip() would copy the whole file
    if not _CONTENT.search(raw, len(BOM) if raw[:3] == BOM else 0):
        raise InputError("the file is empty", file=path, fix="export the survey responses again")
    if raw[:4] == XLSX_MAGIC:
        grid = _read_xlsx(bytes(raw), path, sheet)
    else:
        if b"\x00" in raw[:4096]:
            raise InputError(
                "looks like a binary file, not CSV (it contains NUL bytes)",
                file=path,
                fix="export as CSV or XLSX; UTF-16 'Unicode text' exports are not supported",
            )
        grid = fast_grid(raw, path)
        if grid is not None:
            return grid  # already checked: rectangular, no blank rows, at least two columns
        raw = bytes(raw)  # not plain CSV: the csv module reads it whole, with exact messages
        text, encoding = decode(raw, path)
        grid = _read_csv(text, path, encoding)
    _check_shape(grid)
    return grid


def _open(path: Path) -> bytes | mmap.mmap:
    """The file's bytes; above ``CHUNK_BYTES`` a read-only memory map, so that the scan and the
    parser read it block by block straight from the file and its pages are released behind them
    (``_release``): the whole file is never resident at once."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise IsADirectoryError
        if size <= CHUNK_BYTES:
            return path.read_bytes()
        with path.open("rb") as f:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise InputError("file not found", file=path, fix="check the path") from None
    except IsADirectoryError:
        raise InputError("is a directory, not an export file", file=path) from None
    except PermissionError:
        raise InputError(
            "cannot read the file (permission denied)",
            file=path,
            fix="check the file's permissions",
        ) from None


_PAGE = mmap.PAGESIZE


def _release(raw: object, start: int, end: int) -> None:
    """Drop the pages of ``raw[start:end]`` from memory (a memory map only; bytes are kept)."""
    if isinstance(raw, mmap.mmap):
        lo = -(-start // _PAGE) * _PAGE
        hi = end // _PAGE * _PAGE if end < len(raw) else len(raw)
        if hi > lo:
            raw.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


def _read_csv(text: str, path: Path, encoding: str) -> Grid:
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as err:
        raise InputError(
            f"malformed CSV: {err}",
            file=path,
            fix="check for an unclosed quote in an open-text answer and re-export",
        ) from None
    return _drop_blank(Grid(path, records, encoding))


def fast_grid(raw: bytes, path: Path) -> Grid | None:
    """Parse with polars when the file is plain, well-formed CSV; else None (the csv-module path,
    which gives the exact messages for ragged, blank or malformed rows, takes over).

    "Plain" is checked on the bytes first (``_plain_records``): every quote opens or closes a
    field, every record has the header's number of fields, no record is blank, no lone CR, no NUL.
    Then polars' records are the csv module's, cell for cell (an empty cell is "" either way).
    """
    bom = raw[:3] == BOM
    offset = len(BOM) if bom else 0
    body, encoding = memoryview(raw)[offset:], "utf-8-sig" if bom else "utf-8"
    scan = _plain_records(body, min(1 << 24, CHUNK_BYTES), raw, offset)
    if scan is not None and scan.bad_utf8 is not None:  # Windows-1252, or refused as mixed
        cp, encoding = choose_encoding(bytes(raw), path)
        try:
            body = memoryview(cp.decode("cp1252").encode("utf-8"))
        except UnicodeDecodeError:
            return None  # the csv-module path names the undecodable byte
        scan = _plain_records(body, min(1 << 24, CHUNK_BYTES))
    if scan is None or not scan.records:
        return None
    n, marks = scan.records, scan.marks
    if len(body) > CHUNK_BYTES:
        return _chunked_grid(body, path, encoding, n, marks, raw, scan.sha256)
    try:
        table = pl.read_csv(
            io.BytesIO(body), has_header=False, infer_schema=False, truncate_ragged_lines=False
        )
    except Exception:  # any polars parse failure: the csv-module path decides
        return None
    if table.height != n or table.width < 2:
        return None
    check_cells(table, path, 1)
    head = [["" if v is None else v for v in row] for row in table.head(3).iter_rows()]
    return Grid(path, head, encoding, table=table, sha256=scan.sha256)


CHUNK_BYTES = 1 << 27  # files above 128 MB are parsed in chunks of about this size


def _chunked_grid(
    body: memoryview,
    path: Path,
    encoding: str,
    n: int,
    marks: list[tuple[int, int]],
    raw: object,
    sha256: str | None,
) -> Grid | None:
    """A large, already checked file: record boundaries from the byte scan cut it into parts of
    about ``CHUNK_BYTES``; only the first few records are parsed now (the header candidates)."""
    parts, lo, first = [], 0, 0
    for end, count in marks:
        if end - lo >= CHUNK_BYTES:
            parts.append((lo, end, first))
            lo, first = end, count
    if lo < len(body):
        parts.append((lo, len(body), first))
    head_end = next((end for end, count in marks if count >= 3), len(body))
    head_table = _parse_part(body[:head_end], path, n_rows=3)
    if head_table.width < 2:
        return None
    _check_width(head_table.width, path)
    head = [["" if v is None else v for v in row] for row in head_table.iter_rows()]
    base = len(raw) - len(body) if body.obj is raw and isinstance(raw, mmap.mmap) else None  # type: ignore[arg-type]
    return Grid(
        path, head, encoding, body=body, parts=tuple(parts), records=n, sha256=sha256, mapped=base
    )


def _check_width(width: int, path: Path) -> None:
    if width > MAX_COLUMNS:
        raise InputError(
            f"the file has {width:,} columns, more than the {MAX_COLUMNS:,} a spreadsheet can hold",
            file=path,
            row=1,
            fix="check it is a survey export (a wrong delimiter or a damaged file can look like "
            "this) and export it again",
        )


def _too_long(path: Path, row: int, column: int, chars: int) -> InputError:
    return InputError(
        f"a cell holds {chars:,} characters, more than the {MAX_CELL_CHARS:,} a spreadsheet cell can",
        file=path,
        row=row,
        column=column,
        fix="an unclosed quote or a damaged export can run cells together; check that cell, or "
        "export again from the survey tool",
    )


def check_cells(table: pl.DataFrame, path: Path, first_row: int) -> None:
    """Refuse more columns, or a longer cell, than a spreadsheet holds: one vectorised pass of
    byte lengths, and characters counted only in a column where some cell could be too long."""
    _check_width(table.width, path)
    longest = table.select(pl.all().str.len_bytes().max()).row(0)
    for j, nbytes in enumerate(longest):
        if nbytes is not None and nbytes > MAX_CELL_CHARS:
            chars = table.to_series(j).str.len_chars()
            if chars.max() > MAX_CELL_CHARS:  # type: ignore[operator]
                i = int(chars.arg_max())  # type: ignore[arg-type]
                raise _too_long(path, first_row + i, j + 1, int(chars[i]))


def _parse_part(chunk: bytes | memoryview, path: Path, n_rows: int | None = None) -> pl.DataFrame:
    """One chunk of a checked file as String columns. The byte scan already proved every record
    has the same number of fields and quoting is well formed, so polars and the csv module agree;
    should polars still refuse, the csv module parses the chunk."""
    try:
        return pl.read_csv(
            io.BytesIO(chunk),
            has_header=False,
            infer_schema=False,
            truncate_ragged_lines=False,
            n_rows=n_rows,
        )
    except Exception:
        return _csv_part(chunk, n_rows)


def _csv_part(chunk: bytes | memoryview, n_rows: int | None = None) -> pl.DataFrame:
    records = list(csv.reader(io.StringIO(str(chunk, "utf-8"), newline="")))[:n_rows]
    return pl.DataFrame(
        {f"column_{j + 1}": [r[j] for r in records] for j in range(len(records[0]))}
    )


_OPEN_AFTER = np.array([ord(","), ord("\n"), ord('"')], dtype=np.uint8)
_CLOSE_BEFORE = np.array([ord(","), ord("\r"), ord("\n"), ord('"')], dtype=np.uint8)


@dataclass
class Scan:
    """What one pass over a CSV's bytes proved. ``records`` is 0 when the file is not plain."""

    records: int = 0
    marks: list[tuple[int, int]] = field(default_factory=list)
    bad_utf8: int | None = None  # offset in the body of the first byte that is not UTF-8
    sha256: str | None = None  # of the whole file, BOM included, when the scan saw all of it


def _plain_records(
    body: memoryview, chunk: int = 1 << 24, raw: object = None, offset: int = 0
) -> Scan | None:
    """One pass over the bytes, ``chunk`` at a time, checking everything the fast path relies on:
    valid UTF-8, no NUL, no lone CR, RFC 4180 quoting (a quote opens a field or closes one), every
    record with the first record's field count, no blank record (only commas, quotes, whitespace
    or non-ASCII bytes). On the way it hashes the file (``raw``, whose first ``offset`` bytes are a
    BOM) and releases a memory-mapped file's pages behind it. Returns the number of records and,
    at the last record end of every chunk, (byte offset after it, records before it), where a
    large file may be cut; a Scan with ``bad_utf8`` set when a byte is not UTF-8; else None.

    Vectorised over the bytes in chunks: quote parity by XOR-accumulate, then commas and newlines
    outside quotes delimit fields and records.
    """
    size = len(body)
    whole = np.frombuffer(body, dtype=np.uint8)
    digest = hashlib.sha256(bytes(raw[:offset])) if raw is not None else None  # type: ignore[index]
    utf8 = codecs.getincrementaldecoder("utf-8")()
    parity, width, records = 0, None, 0
    commas, significant = 0, False  # of the record in progress, carried across chunks
    marks: list[tuple[int, int]] = []
    for start in range(0, size, chunk):
        a = whole[start : start + chunk]
        if digest is not None:
            digest.update(a)
        pending = len(utf8.getstate()[0])
        if pending or (a >= 0x80).any():  # pure ASCII needs no decoding
            try:
                utf8.decode(a.data)
            except UnicodeDecodeError as err:
                return Scan(bad_utf8=max(start - pending + err.start, 0))
        cr = np.flatnonzero(a == ord("\r")) + start
        if (
            (a == 0).any()
            or (cr + 1 >= size).any()
            or (whole[np.minimum(cr + 1, size - 1)] != 10).any()
        ):
            return None  # NUL or a lone CR: the csv module decides
        q = a == ord('"')
        par = np.bitwise_xor.accumulate(q.view(np.uint8)) ^ np.uint8(parity)
        at = np.flatnonzero(q) + start  # quote positions in the whole body
        opening = par[at - start] == 1
        prev = np.where(at > 0, whole[np.maximum(at - 1, 0)], ord("\n"))
        nxt = np.where(at + 1 < size, whole[np.minimum(at + 1, size - 1)], ord("\n"))
        if not np.isin(prev[opening], _OPEN_AFTER).all():
            return None
        if not np.isin(nxt[~opening], _CLOSE_BEFORE).all():
            return None
        outside = par == 0
        comma_at = np.flatnonzero((a == ord(",")) & outside)
        ends = np.flatnonzero((a == ord("\n")) & outside)
        sig = (a > 32) & (a < 128) & (a != ord('"')) & (a != ord(","))
        if ends.size:
            per_c = np.diff(np.searchsorted(comma_at, ends), prepend=0)
            per_c[0] += commas
            starts = np.concatenate(([0], ends[:-1] + 1))
            per_g = np.logical_or.reduceat(sig[: ends[-1] + 1], starts)
            per_g[0] |= significant
            width = int(per_c[0]) if width is None else width
            if (per_c != width).any() or not per_g.all():
                return None
            records += ends.size
            marks.append((start + int(ends[-1]) + 1, records))
            commas = int(comma_at.size - np.searchsorted(comma_at, ends[-1]))
            significant = bool(sig[ends[-1] + 1 :].any())
        else:
            commas += int(comma_at.size)
            significant = significant or bool(sig.any())
        parity = int(par[-1])
        _release(raw, offset + start, offset + start + len(a))
    try:
        utf8.decode(b"", final=True)
    except UnicodeDecodeError:
        return Scan(bad_utf8=size - len(utf8.getstate()[0]))
    if parity:
        return None  # an unclosed quote
    if size and whole[-1] != ord("\n"):  # a last record without a final newline
        width = commas if width is None else width
        if commas != width or not significant:
            return None
        records += 1
    sha = digest.hexdigest() if digest is not None else None
    return Scan(records, marks, None, sha) if records else None


def _read_xlsx(raw: bytes, path: Path, sheet: str | None) -> Grid:
    """Read one sheet. A damaged workbook can fail anywhere inside openpyxl, zipfile or zlib,
    with many exception types; all of them mean the same thing to the user."""
    try:
        return _read_xlsx_sheet(raw, path, sheet)
    except InputError:
        raise
    except Exception as err:  # corrupt XLSX: openpyxl, zipfile, zlib and XML parser errors
        raise InputError(
            f"not a readable XLSX workbook ({type(err).__name__})",
            file=path,
            fix="open it in Excel and save a fresh copy, or export again from the survey tool",
        ) from None


# a text node in the XML holds no '<'; its worst case is every character written as '&quot;'
_MAX_TEXT_BYTES = MAX_CELL_CHARS * len("&quot;")
_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")


def scan_xlsx_parts(raw: bytes, path: Path, block: int = 1 << 20) -> bool:
    """Stream every XML part of the workbook once, before openpyxl reads it, refusing any text
    longer than a cell may hold (openpyxl would load a 400 MB shared string whole); returns whether
    any worksheet holds formulas (checked for missing cached values only then)."""
    formulas = False
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".xml"):
                continue
            sheet = info.filename.startswith("xl/worksheets/")
            run, tail = 0, b""  # bytes since the last '<'; the end of the previous block
            with zf.open(info) as f:
                while data := f.read(block):
                    a = np.frombuffer(data, dtype=np.uint8)
                    lt = np.flatnonzero(a == ord("<"))
                    if lt.size:
                        inner = int(np.diff(lt).max()) if lt.size > 1 else 0
                        longest = max(run + int(lt[0]), inner)
                        run = len(data) - 1 - int(lt[-1])
                    else:
                        run += len(data)
                        longest = run
                    if max(longest, run) > _MAX_TEXT_BYTES:
                        raise InputError(
                            f"the workbook part '{info.filename}' holds a text longer than the "
                            f"{MAX_CELL_CHARS:,} characters a cell can",
                            file=path,
                            fix="the file was not written by a spreadsheet or survey tool as it "
                            "is; export the responses again",
                        )
                    if sheet and not formulas:
                        formulas = bool(_FORMULA.search(tail + data))
                    tail = data[-8:]
    return formulas


def _read_xlsx_sheet(raw: bytes, path: Path, sheet: str | None) -> Grid:
    from openpyxl import load_workbook  # deferred: only XLSX needs it

    formulas = scan_xlsx_parts(raw, path)
    wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    names = wb.sheetnames
    if sheet is not None:
        if sheet not in names:
            raise InputError(f"no sheet named '{sheet}'; sheets: {names}", file=path)
        chosen = sheet
    else:
        non_empty = [
            n for n in names if wb[n].max_row != 0 and _has_cells(wb[n])
        ]  # None: no <dimension>
        if len(non_empty) != 1:
            raise InputError(
                f"the workbook has {len(non_empty)} sheets with data ({', '.join(non_empty) or 'none'})",
                file=path,
                fix="pass --sheet NAME to say which sheet holds the responses",
            )
        chosen = non_empty[0]
    _check_width(wb[chosen].max_column or 0, path)
    values = list(wb[chosen].iter_rows(values_only=True))
    wb.close()
    if formulas:
        _refuse_uncached_formulas(raw, path, chosen, values)
    rows = [[_cell_text(v) for v in row] for row in values]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    return _drop_blank(Grid(path, rows, "xlsx", chosen))


def _refuse_uncached_formulas(raw: bytes, path: Path, sheet: str, values: list[tuple]) -> None:
    """A formula cell whose workbook has no saved result reads as empty: say so instead."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    missing = []
    for i, row in enumerate(wb[sheet].iter_rows(values_only=True)):
        cached = values[i] if i < len(values) else ()
        for j, v in enumerate(row):
            if isinstance(v, str) and v.startswith("=") and (j >= len(cached) or cached[j] is None):
                missing.append((i + 1, j + 1))
    wb.close()
    if missing:
        row, col = missing[0]
        raise InputError(
            f"{len(missing)} formula cell(s) have no saved value, so they would read as empty "
            f"(first: cell {get_column_letter(col)}{row})",
            file=path,
            row=row,
            column=col,
            fix="open the workbook in Excel or LibreOffice and save it (that stores each formula's "
            "value), or paste those columns as values",
        )


def _has_cells(ws: object) -> bool:
    return any(any(v not in (None, "") for v in row) for row in ws.iter_rows(values_only=True))  # type: ignore[attr-defined]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _drop_blank(grid: Grid) -> Grid:
    """Entirely empty rows are not responses: drop them but keep every row's original number."""
    numbers = [i for i, row in enumerate(grid.rows, start=1) if any(c.strip() for c in row)]
    blank = sorted(set(range(1, len(grid.rows) + 1)) - set(numbers))
    if not blank:
        return grid
    rows = [grid.rows[i - 1] for i in numbers]
    return Grid(grid.path, rows, grid.encoding, grid.sheet, blank, numbers)


def _check_shape(grid: Grid) -> None:
    if not grid.rows:
        raise InputError("the file has no rows", file=grid.path)
    width = len(grid.rows[0])
    _check_width(max(map(len, grid.rows)), grid.path)
    for k, row in enumerate(grid.rows):
        if max(map(len, row), default=0) > MAX_CELL_CHARS:
            j = next(j for j, c in enumerate(row) if len(c) > MAX_CELL_CHARS)
            raise _too_long(grid.path, grid.number(k), j + 1, len(row[j]))
    if width == 1 and any(d in grid.rows[0][0] for d in (";", "\t", "|")):
        delim = next(d for d in (";", "\t", "|") if d in grid.rows[0][0])
        raise InputError(
            f"only one column found; the header looks {'tab' if delim == chr(9) else repr(delim)}-separated",
            file=grid.path,
            row=1,
            fix="export as comma-separated CSV (or open and re-save as 'CSV UTF-8')",
        )
    ragged = [(k, len(r)) for k, r in enumerate(grid.rows) if len(r) != width]
    # Trailing empty cells dropped by some tools are harmless; pad those, reject real overflow.
    bad = [(k, n) for k, n in ragged if n > width or (n < width and _significant_short(grid, k))]
    if bad:
        k, n = bad[0]
        i = grid.number(k)
        raise InputError(
            f"{len(bad)} row(s) have a different number of cells from the header ({width}); "
            f"row {i} has {n}",
            file=grid.path,
            row=i,
            fix="an open-text answer probably contains an unquoted comma or line break; re-export "
            "from the survey tool rather than editing the CSV by hand",
        )
    for k, _ in ragged:
        grid.rows[k].extend([""] * (width - len(grid.rows[k])))


def _significant_short(grid: Grid, index: int) -> bool:
    """A short row is only acceptable in a file whose header ends with empty cells."""
    header = grid.rows[0]
    n = len(grid.rows[index])
    return any(h.strip() for h in header[n:])
