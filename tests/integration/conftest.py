"""Fingerprints of a whole lakehouse, to compare it after reruns, races and crashes."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyspark.sql import DataFrame

from contentlake.content_hash import content_hash
from contentlake.index_snapshot import CURRENT_POINTER, MANIFEST_FILE

DATA_TABLES = (
    "bronze_catalog",
    "bronze_events",
    "content",
    "content_quarantine",
    "events",
    "events_quarantine",
    "content_daily_features",
    "content_embeddings",
)
# Columns that differ between two runs of one date by design: when a run finished, when
# and how long a check ran, and which Delta version it read (a rerun commits a new one).
RUN_METADATA = {
    "job_runs": ("finished_at", "checks"),
    "dq_results": ("checked_at", "duration_ms", "table_version"),
}


def lake_hashes(
    read: Callable[[str], DataFrame], exclude: dict[str, tuple[str, ...]] = RUN_METADATA
) -> dict[str, str]:
    """``content_hash`` of every data table and of the bookkeeping tables (less their
    run metadata), each read by ``read(table_name)``."""
    tables = (*DATA_TABLES, *exclude)
    return {table: content_hash(read(table), exclude.get(table, ())) for table in tables}


def snapshot_state(snapshots: Path) -> dict[str, object]:
    """The published snapshots (name = run date + content fingerprint), their vector
    counts and the CURRENT pointer; staging folders (dot names) are not published."""
    published = sorted(p for p in snapshots.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {
        "current": (snapshots / CURRENT_POINTER).read_text().strip(),
        "snapshots": {
            p.name: json.loads((p / MANIFEST_FILE).read_text())["vector_count"] for p in published
        },
    }


@pytest.fixture(scope="session")
def hash_lake():
    return lake_hashes


@pytest.fixture(scope="session")
def read_snapshots():
    return snapshot_state


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
