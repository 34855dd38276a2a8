"""Concurrent writers: a real Delta commit conflict is detected and retried, and two
backfill dates run at once end up exactly as if they had run one after the other."""

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from contentlake.jobs import build_features, ingest_catalog, ingest_events
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from contentlake.config import WriteSettings
from contentlake.delta_commits import commit_with_retry
from contentlake.sample_data import SampleSpec, generate, load_expected
from contentlake.tables import use_database

RETRY_LOGGER = "contentlake.delta_commits"
WAIT_SECONDS = 300


def hold_first_row_until(started: Path, release: Path):
    """A UDF that passes values through, except that its first evaluation anywhere
    (claimed by creating ``started``) waits for ``release`` to appear."""

    @F.udf("int")
    def hold(value):
        try:
            os.close(os.open(started, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return value
        deadline = time.monotonic() + WAIT_SECONDS
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.05)
        return value

    return hold


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_merge_that_loses_the_commit_race_is_retried_on_the_new_snapshot(
    spark, lake_db, tmp_path, caplog
):
    use_database(spark, lake_db)
    spark.sql("create table scores (content_id string, score int, day date) using delta")
    spark.sql("insert into scores values ('c1', 1, date'2026-11-01'), ('c2', 2, date'2026-11-01')")
    started, release = tmp_path / "merge-started", tmp_path / "release-merge"
    hold = hold_first_row_until(started, release)
    # c3 is new when the MERGE reads the table; the concurrent writer inserts it before the
    # MERGE commits. Committed blindly, c3 would be stored twice.
    updates_df = spark.createDataFrame(
        [("c1", 10), ("c3", 30), ("c4", 40)], "content_id string, score int"
    ).select(
        "content_id", hold("score").alias("score"), F.lit("2026-11-01").cast("date").alias("day")
    )

    def upsert():
        (
            DeltaTable.forName(spark, "scores")
            .alias("t")
            .merge(updates_df.alias("s"), "t.content_id = s.content_id")
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )

    settings = WriteSettings(max_attempts=3, backoff_seconds=0.1)
    with caplog.at_level(logging.WARNING, logger=RETRY_LOGGER), ThreadPoolExecutor(1) as pool:
        merged = pool.submit(commit_with_retry, upsert, "scores", settings)
        wait_for(started)  # the MERGE has read its snapshot and is evaluating its source
        spark.sql("insert into scores values ('c3', 3, date'2026-11-01')")
        release.touch()
        merged.result(timeout=WAIT_SECONDS)

    retries = [r.getMessage() for r in caplog.records if r.name == RETRY_LOGGER]
    assert len(retries) == 1
    assert retries[0].startswith(
        "write to scores: commit conflict on attempt 1 of 3 (ConcurrentAppendException)"
    )
    assert sorted(
        tuple(row) for row in spark.table("scores").select("content_id", "score").collect()
    ) == [
        ("c1", 10),
        ("c2", 2),
        ("c3", 30),
        ("c4", 40),
    ]
    operations = [
        row.operation
        for row in DeltaTable.forName(spark, "scores").history().orderBy("version").collect()
    ]
    assert operations[-2:] == ["WRITE", "MERGE"]  # the retry committed after the race


def run_together(*calls):
    """Run the calls in parallel threads of this session; re-raise the first error."""
    barrier = threading.Barrier(len(calls))

    def start_together(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(start_together, call) for call in calls]
        return [future.result(timeout=900) for future in futures]


@pytest.mark.slow  # two full ingests plus a sequential reference: about 3 minutes
def test_two_backfill_dates_at_once_equal_one_after_the_other(spark, lake_cfg, caplog, hash_lake):
    spec = SampleSpec(items=30, days=2, users=15, events_per_day=100, seed=9)
    day_1, day_2 = spec.landing_dates()
    generate(lake_cfg.paths.landing, spec)
    expected = load_expected(lake_cfg.paths.landing)["days"]
    for day in (day_1, day_2):
        ingest_catalog.run(spark, lake_cfg, day)

    with caplog.at_level(logging.WARNING, logger=RETRY_LOGGER):
        run_together(
            lambda: ingest_events.run(spark, lake_cfg, day_1),
            lambda: ingest_events.run(spark, lake_cfg, day_2),
        )
        run_together(
            lambda: build_features.run(spark, lake_cfg, day_1),
            lambda: build_features.run(spark, lake_cfg, day_2),
        )
    retries = [r.getMessage() for r in caplog.records if r.name == RETRY_LOGGER]
    logging.getLogger(__name__).info("commit conflicts retried: %s", retries)

    events_df = spark.table("events")
    per_day = {row[0]: row[1] for row in events_df.groupBy("_ingest_date").count().collect()}
    assert per_day == {day: expected[day.isoformat()]["events"]["good"] for day in (day_1, day_2)}
    assert events_df.select("event_id").distinct().count() == events_df.count()
    features = {
        row[0]: row[1]
        for row in spark.table("content_daily_features").groupBy("feature_date").count().collect()
    }
    assert set(features) == {day_1, day_2}

    # Rerunning both dates one after the other must find nothing to change.
    concurrent = hash_lake(spark.table)
    for job in (ingest_events, build_features):
        for day in (day_1, day_2):
            job.run(spark, lake_cfg, day)
    assert hash_lake(spark.table) == concurrent
