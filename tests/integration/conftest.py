"""Fingerprints of a whole lakehouse, to compare it after reruns, races and crashes."""

from __future__ import annotations

import json
from collections.abc import Callable
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
