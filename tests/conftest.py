"""Suite-wide guarantees (no network, no model download, a fixed test pseudonym key) and the
expensive fixtures shared by every module: the bundled model is loaded once per session."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["JOINEDUP_PSEUDONYM_KEY"] = "test-key-not-secret-0123456789abcdef"
sys.path.insert(0, str(Path(__file__).parent))  # test helpers such as survey_fixtures


class NetworkBlocked(RuntimeError):
    """Raised when code under test tries to open a network connection."""


def _guard(original):
    def connect(self, address, *args, **kwargs):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkBlocked(f"network access attempted in tests: {address!r}")
        return original(self, address, *args, **kwargs)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> None:
    """Requirement 14: the whole suite runs with internet sockets blocked."""
    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", _guard(socket.socket.connect))
    mp.setattr(socket.socket, "connect_ex", _guard(socket.socket.connect_ex))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def model():
    """The bundled sentence-transformers model, loaded once per test session (tests that use it
    are marked ``@pytest.mark.model``)."""
    from pipeline.core.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def once_per_run(tmp_path_factory, name: str, make: Callable[[Path], Path]) -> Path:
    """``make(folder)`` run once for the whole test run, even with ``pytest -n`` workers: the first
    worker makes it under a lock in the run's shared temporary folder, the others wait and reuse
    it. Returns the path ``make`` returned."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # every worker's basetemp lies in the run's folder
    folder, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with (root / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a maker that failed half-way
            result = make(folder)
            done.write_text(str(result.relative_to(folder)), encoding="utf-8")
        return folder / done.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def publication_run(tmp_path_factory) -> Path:
    """The reference export run once per test run with the publication profile (no suggestions):
    the folder its report was written to. Shared by several modules: read it, never write in it."""
    from pipeline.core.paths import REFERENCE_DATA
    from pipeline.survey.flow import run_survey

    def make(folder: Path) -> Path:
        return run_survey(
            REFERENCE_DATA / "interactions_2025_export.csv",
            "interactions_2025",
            folder,
            profile="publication",
            suggest=False,
        )

    return once_per_run(tmp_path_factory, "publication", make)
