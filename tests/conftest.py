"""Suite-wide guarantees (no network, no model download, a fixed test pseudonym key) and the
expensive fixtures shared by every module: the bundled model is loaded once per session."""

from __future__ import annotations

import os
import socket
import sys
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
