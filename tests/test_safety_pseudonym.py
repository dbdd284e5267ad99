"""Respondent ids become keyed HMAC pseudonyms; the key never reaches an output."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import polars as pl
import pytest

from pipeline.core.errors import InputError
from pipeline.core.safety.pseudonym import load_key, pseudonymise

KEY = b"k" * 32
ENV = "JOINEDUP_TEST_PSEUDONYM_KEY"


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def test_environment_variable_wins_over_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / ".joinedup_key"
    key_file.write_text("file-key-0123456789abcdef\n")
    monkeypatch.setenv(ENV, "env-key-0123456789abcdef")
    assert load_key(ENV, key_file) == b"env-key-0123456789abcdef"


def test_existing_key_file_is_read_stripped(tmp_path: Path) -> None:
    key_file = tmp_path / ".joinedup_key"
    key_file.write_text("file-key-0123456789abcdef\n")
    assert load_key(ENV, key_file) == b"file-key-0123456789abcdef"


def test_missing_key_file_is_created_0600_with_32_random_bytes_and_a_notice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / ".joinedup_key"
    with caplog.at_level(logging.INFO):
        key = load_key(ENV, key_file)
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert re.fullmatch(rb"[0-9a-f]{64}", key)  # 32 random bytes, hex-encoded
    assert load_key(ENV, key_file) == key
    assert len(caplog.records) == 1 and "\n" not in caplog.text.strip()
    assert key.decode() not in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == [".joinedup_key"]


def test_two_new_key_files_differ(tmp_path: Path) -> None:
    assert load_key(ENV, tmp_path / "a") != load_key(ENV, tmp_path / "b")


@pytest.mark.parametrize("short", ["", "too-short", "x" * 15])
def test_keys_shorter_than_16_bytes_are_rejected(
    short: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, short)
    with pytest.raises(InputError, match="shorter than 16 bytes") as err:
        load_key(ENV, tmp_path / "unused")
    if short:
        assert short not in str(err.value)


def test_pseudonyms_are_r_prefix_plus_12_hex_and_nulls_stay_null() -> None:
    out = pseudonymise(pl.Series("id", ["a", None, "b", "a"]), KEY)
    assert out.name == "id"
    assert out[1] is None
    assert all(re.fullmatch(r"r_[0-9a-f]{12}", v) for v in out.drop_nulls())
    assert out[0] == out[3] != out[2]


def test_pseudonyms_are_stable_for_the_same_key() -> None:
    ids = pl.Series("id", [101, 102, 103])
    assert pseudonymise(ids, KEY).to_list() == pseudonymise(ids, KEY).to_list()


def test_pseudonyms_use_the_string_form_of_the_id() -> None:
    as_int = pseudonymise(pl.Series([101]), KEY)
    assert as_int.to_list() == pseudonymise(pl.Series(["101"]), KEY).to_list()


def test_pseudonyms_differ_for_a_different_key() -> None:
    ids = pl.Series("id", [str(i) for i in range(100)])
    a, b = pseudonymise(ids, KEY), pseudonymise(ids, b"other-key-0123456789")
    assert not set(a) & set(b)


def test_key_bytes_never_appear_in_the_output() -> None:
    key = b"secret-key-ABCDEF0123456789"
    out = pseudonymise(pl.Series([key.decode(), "x"]), key)
    joined = "".join(out.to_list())
    assert key.decode() not in joined and key.hex()[:12] not in joined


def test_no_collisions_on_100k_ids() -> None:
    ids = pl.Series("id", range(100_000))
    out = pseudonymise(ids, KEY)
    assert out.n_unique() == 100_000


@pytest.mark.parametrize(
    "key", [b"k" * 32, b"a-key-of-exactly-64-bytes-".ljust(64, b"!"), b"x" * 100]
)
def test_vectorised_hmac_equals_the_per_id_hmac(key: bytes, monkeypatch) -> None:
    """Issue 17: many ids are hashed in one DuckDB expression; every pseudonym must be the one
    `hmac` gives, for keys shorter than, equal to and longer than the SHA-256 block."""
    import hmac

    from pipeline.core.safety import pseudonym

    ids = pl.Series(["1", "114227", "Zoë-7", "日本", "a" * 80, "", "x,y"] * 3 + [None])
    monkeypatch.setattr(pseudonym, "VECTORISED_FROM", 0)
    out = pseudonymise(ids, key).to_list()
    want = [
        None if v is None else "r_" + hmac.digest(key, v.encode(), "sha256").hex()[:12]
        for v in ids.to_list()
    ]
    assert out == want
