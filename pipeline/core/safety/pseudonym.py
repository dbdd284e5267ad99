"""Keyed pseudonyms for respondent ids, so outputs can be linked across runs but not reversed.

An unkeyed hash of a short id is reversible by trying every id; HMAC-SHA256 with a secret key is
not. The key lives outside the repository's tracked files (environment variable or the git-ignored
``.joinedup_key``) and never appears in any output or log line.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

import polars as pl

from pipeline.core.errors import InputError
from pipeline.core.paths import ROOT

DEFAULT_ENV_VAR = "JOINEDUP_PSEUDONYM_KEY"
DEFAULT_KEY_FILE = ROOT / ".joinedup_key"
MIN_KEY_BYTES = 16
NEW_KEY_BYTES = 32
PREFIX = "r_"
HEX_CHARS = 12  # 48 bits: collisions are checked for, not assumed away

log = logging.getLogger(__name__)


def load_key(env_var: str = DEFAULT_ENV_VAR, key_file: Path | None = None) -> bytes:
    """The pseudonym key: ``env_var`` if set, else the key file, else a new key in that file.

    The key is the variable's or file's text, stripped, as UTF-8 bytes. A new key is 32 random
    bytes written as 64 hex characters to a file created with mode 0600.
    """
    raw = os.environ.get(env_var)
    if raw is not None:
        return _checked(raw.strip().encode("utf-8"), f"environment variable {env_var}")
    path = Path(key_file) if key_file is not None else DEFAULT_KEY_FILE
    if not path.exists():
        _create_key_file(path)
    _warn_if_shared(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(
            "the pseudonym key file cannot be read as text",
            file=path,
            fix="restore the key file, or delete it to create a new key (old pseudonyms change)",
        ) from err
    return _checked(text.strip().encode("utf-8"), path)


def _checked(key: bytes, source: str | Path) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise InputError(
            f"the pseudonym key is shorter than {MIN_KEY_BYTES} bytes",
            file=source,
            fix=f"use a random key of at least {MIN_KEY_BYTES} bytes, e.g. `openssl rand -hex 32`",
        )
    return key


def _create_key_file(path: Path) -> None:
    """Write a fresh key with mode 0600; if another process beat us to it, keep theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(NEW_KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp_name, path)  # atomic and never overwrites an existing key
        log.warning("created pseudonym key file %s; keep it or pseudonyms will change", path)
    except FileExistsError:
        pass
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def _warn_if_shared(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("pseudonym key file %s is readable by others; run chmod 600 on it", path)


FINGERPRINT_LABEL = b"joinedup pseudonym key fingerprint v1"


def key_fingerprint(key: bytes) -> str:
    """Which key made a set of pseudonyms, without revealing it: ``kf_`` + 16 hex characters of
    HMAC-SHA256(key, a fixed label). Recorded in manifests and in quote exclusions, so work done
    under one key is never silently applied under another."""
    return "kf_" + hmac.digest(key, FINGERPRINT_LABEL, "sha256").hex()[:16]


def _digest(key: bytes, value: str) -> str:
    return PREFIX + hmac.digest(key, value.encode("utf-8"), "sha256").hex()[:HEX_CHARS]


VECTORISED_FROM = 100_000  # distinct ids; below this the per-id loop is as quick as DuckDB


def _digests(key: bytes, values: pl.Series) -> pl.Series:
    """``_digest`` of every value. Many ids: HMAC written out as its two SHA-256 passes
    (RFC 2104: H((K ^ opad) || H((K ^ ipad) || m))) in one DuckDB expression, vectorised and
    multi-threaded instead of a Python call per id; equal to ``hmac`` (tested)."""
    if len(values) < VECTORISED_FROM:
        return pl.Series([_digest(key, v) for v in values.to_list()], dtype=pl.String)
    import duckdb

    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    ipad, opad = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
    con = duckdb.connect()
    try:
        con.register("ids", pl.DataFrame({"id": values}).to_arrow())
        table = con.sql(
            f"SELECT '{PREFIX}' || left(sha256($o || unhex(sha256($i || encode(id)))), "
            f"{HEX_CHARS}) AS p FROM ids",
            params={"i": ipad, "o": opad},
        ).to_arrow_table()
    finally:
        con.close()
    return pl.Series(table.column("p").combine_chunks(), dtype=pl.String)


def pseudonymise(ids: pl.Series, key: bytes) -> pl.Series:
    """``"r_"`` + first 12 hex chars of HMAC-SHA256(key, str(id)); nulls stay null, order kept.

    Each distinct id is hashed once. Two distinct ids mapping to one pseudonym (about 1 in 500 at
    a million ids) would silently merge respondents, so it raises instead.
    """
    text = ids.cast(pl.String)
    unique = text.drop_nulls().unique()
    hashed = _digests(key, unique)
    if hashed.n_unique() != len(unique):
        raise InputError(
            "two respondent ids share a pseudonym (a 48-bit HMAC collision)",
            fix="set a new pseudonym key (JOINEDUP_PSEUDONYM_KEY) and rerun from ingest",
        )
    return text.replace_strict(unique, hashed, default=None, return_dtype=pl.String).alias(ids.name)
