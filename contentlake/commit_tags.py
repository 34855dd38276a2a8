"""What each Delta commit says about the run that made it: ``commitInfo.userMetadata``.

Every commit a job makes carries ``{"job", "run_id", "run_date"}`` (and whatever the job
adds, such as the ``content`` version ``embed_content`` embedded), so ``DESCRIBE HISTORY``
names the run behind each version without a join: ``contentlake.lineage`` follows a
snapshot back through these tags, and ``embed_content`` reads where its last vectors came
from. Delta takes the tag from a session setting, so jobs run in parallel threads of one
session (only some tests do that) may tag each other's commits; spark-submit runs one job
per session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


@contextmanager
def tagged_commits(spark: SparkSession, **fields: object) -> Iterator[dict[str, str]]:
    """Tag every Delta commit made inside the block with ``fields`` (added to the tag in
    force, so a job's own fields nest inside the run's); the previous tag comes back after."""
    previous = spark.conf.get(USER_METADATA, None)
    tag = {**parse_tag(previous), **{key: str(value) for key, value in fields.items()}}
    spark.conf.set(USER_METADATA, json.dumps(tag, sort_keys=True))
    try:
        yield tag
    finally:
        if previous is None:
            spark.conf.unset(USER_METADATA)
        else:
            spark.conf.set(USER_METADATA, previous)


def parse_tag(user_metadata: str | None) -> dict[str, str]:
    """A commit's tag; empty for a commit made outside a job (or by another tool)."""
    if not user_metadata:
        return {}
    try:
        tag = json.loads(user_metadata)
    except json.JSONDecodeError:
        return {}
    return {str(key): str(value) for key, value in tag.items()} if isinstance(tag, dict) else {}


# Commits that change no row: a version made by one of these holds the data of the
# version before it.
NO_DATA_CHANGE = frozenset(
    {
        "OPTIMIZE",
        "VACUUM START",
        "VACUUM END",
        "SET TBLPROPERTIES",
        "UNSET TBLPROPERTIES",
        "ADD CONSTRAINT",
        "DROP CONSTRAINT",
        "CHANGE COLUMN",
        "ADD COLUMNS",
        "UPGRADE PROTOCOL",
        "SET TABLE PROPERTIES",
    }
)


class CommitNotFound(RuntimeError):
    """No commit of the table answers the question (a version vacuumed or never made)."""


@dataclass(frozen=True)
class Commit:
    """One Delta commit and the run its tag names (empty outside a job)."""

    table: str
    version: int
    timestamp: datetime
    operation: str
    tag: dict[str, str] = field(default_factory=dict)

    @property
    def changes_data(self) -> bool:
        return self.operation not in NO_DATA_CHANGE

    @property
    def run(self) -> str:
        if not self.tag:
            return "no run tag"
        return f"{self.tag.get('job', '?')} run {self.tag.get('run_id', '?')}"


def table_history(spark: SparkSession, table: str) -> list[Commit]:
    """Every commit of ``table`` still in its log, oldest first."""
    from delta.tables import DeltaTable

    rows = (
        DeltaTable.forName(spark, table)
        .history()
        .select("version", "timestamp", "operation", "userMetadata")
        .collect()
    )
    commits = [
        Commit(table, int(r.version), r.timestamp, r.operation, parse_tag(r.userMetadata))
        for r in rows
    ]
    return sorted(commits, key=lambda commit: commit.version)


def data_commit(history: Sequence[Commit], version: int) -> Commit:
    """The commit that wrote the data ``version`` holds: the last one at or before it
    that changed rows."""
    for commit in reversed(history):
        if commit.version <= version and commit.changes_data:
            return commit
    raise CommitNotFound(f"no commit of {history[0].table if history else '?'} up to v{version}")
