"""Maintenance vacuums, and every version a kept snapshot names stays readable after it.

A fresh table's files are seconds old, so no VACUUM of an hour or more would touch them.
The test gives its commits the ages of a week of daily runs instead: each commit file's
time, its actions' timestamps and its data files' times are moved back (the commit times
Delta reads from its log), then the cached log state is dropped.
"""

from __future__ import annotations

import json
import os
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.index_snapshot import MANIFEST_FILE
from contentlake.maintenance import maintain_tables, table_properties

# Builds, backdates and vacuums a table history of its own: the slow suite.
pytestmark = pytest.mark.slow

DAY = date(2026, 11, 1)
UPDATED = datetime(2026, 11, 1, 12, 0)
# Five overwrites of content, hours old when maintenance runs (the last one: now).
AGES_HOURS = (12, 10, 6, 5, 0)
NEEDED = 3  # the third overwrite, which the kept snapshot was built from


def overwrite_content(spark, titles: list[str]) -> None:
    rows = [
        (f"c{n:06d}", "movie", title, None, None, None, "en", 60, None, UPDATED, None, None,
         None, DAY)  # fmt: skip
        for n, title in enumerate(titles, start=1)
    ]
    spark.createDataFrame(rows, spark.table("content").schema).writeTo("content").overwrite(
        F.lit(True)
    )


def age_commits(spark, table: str, ages: dict[int, float]) -> None:
    """Make each commit ``version -> hours`` old (earlier ones as old as the oldest)."""
    location = Path(spark.sql(f"describe detail {table}").first()["location"].removeprefix("file:"))
    now, oldest = time.time(), max(ages.values())
    for commit in sorted((location / "_delta_log").glob("*.json")):
        version = int(commit.stem)
        if version > max(ages):
            continue
        stamp = now - ages.get(version, oldest) * 3600
        actions = [json.loads(line) for line in commit.read_text().splitlines()]
        for action in actions:
            if "remove" in action:
                action["remove"]["deletionTimestamp"] = int(stamp * 1000)
            if "add" in action:
                action["add"]["modificationTime"] = int(stamp * 1000)
                os.utime(location / action["add"]["path"], (stamp, stamp))
            if "commitInfo" in action:
                action["commitInfo"]["timestamp"] = int(stamp * 1000)
        commit.write_text("".join(json.dumps(action) + "\n" for action in actions))
        os.utime(commit, (stamp, stamp))
        # Hadoop's checksum of the old text would now fail the read.
        (commit.parent / f".{commit.name}.crc").unlink(missing_ok=True)
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


@pytest.fixture
def aged_cfg(spark, lake_cfg):
    """Content overwritten five times with the ages above, one snapshot kept that was built
    from the third; an hour's floor and margin, on the table too."""
    spark.sql(
        "alter table content set tblproperties "
        "('delta.deletedFileRetentionDuration' = 'interval 1 hours')"
    )
    versions, files = {}, {}
    for n, titles in enumerate((["a"], ["a", "b"], ["a", "b", "c"], ["d"], ["e"]), start=1):
        overwrite_content(spark, titles)
        versions[n] = int(spark.sql("describe history content limit 1").first()["version"])
        files[n] = [path.removeprefix("file:") for path in spark.table("content").inputFiles()]
    age_commits(spark, "content", {versions[n]: age for n, age in enumerate(AGES_HOURS, 1)})
    cfg = load_config(
        "local",
        root=lake_cfg.paths.root,
        overrides={
            "database": lake_cfg.database,
            "embedding": {"model": lake_cfg.embedding.model},
            "maintenance": {"min_retention_hours": 1, "retention_margin_hours": 1},
        },
    )
    folder = cfg.paths.snapshots / "2026-11-01_000000000001"
    folder.mkdir(parents=True)
    manifest = {
        "snapshot": folder.name,
        "created_at": "2026-11-01T00:00:00+00:00",
        "source_tables": {f"{cfg.database}.content": {"version": versions[NEEDED]}},
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    return cfg, versions, files


def test_vacuum_keeps_the_version_a_kept_snapshot_needs_and_drops_older_files(spark, aged_cfg):
    cfg, versions, files = aged_cfg

    (done,) = maintain_tables(spark, cfg, tables=["content"])

    # The needed version is 6 hours old: kept with the hour's margin, not the 1-hour floor.
    assert 7.0 <= done.retention_hours < 7.1
    assert done.properties_set == ("delta.deletedFileRetentionDuration",)
    assert table_properties(spark, "content")["delta.deletedFileRetentionDuration"] == (
        f"interval {round(done.retention_hours * 3600)} seconds"
    )
    # Files retired 10 hours ago (the first overwrite's) are gone; 6 and 5 hours ago stay.
    assert done.files_vacuumed == 1
    assert not any(Path(path).exists() for path in files[1])
    assert all(Path(path).is_file() for n in (2, 3, 4, 5) for path in files[n])
    needed_df = spark.read.option("versionAsOf", versions[NEEDED]).table("content")
    assert sorted(row.title for row in needed_df.collect()) == ["a", "b", "c"]
    assert [row.title for row in spark.table("content").collect()] == ["e"]
