"""PostgreSQL servers for the integration tests (the lakehouse fingerprints are in
tests/conftest.py)."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def free_port() -> Callable[[], int]:
    """Call it for a TCP port on loopback that nothing listens on now."""
    return _free_port


@pytest.fixture
def postgres_root(request) -> Iterator[Path]:
    """A lakehouse root a local PostgreSQL server may keep its data in, removed afterwards.

    Not under pytest's tmp folder: that is private to root (0700), and the server runs as
    the postgres user, who must reach its data directory."""
    root = Path(tempfile.mkdtemp(prefix=f"contentlake-{request.module.__name__[5:]}-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
