"""A day with no landing files is a no-op, also when it is a rerun of a day whose files
were archived after they were ingested."""

import json
from datetime import date

import pytest
from chispa import assert_df_equality
from contentlake.jobs import ingest_catalog, ingest_events

# Four job runs on a lakehouse of its own (about 20 s); the default suite covers the parts:
# tests/unit/test_landing.py (a quiet day is an empty LandingDay) and test_ingest_bronze.py.
pytestmark = pytest.mark.slow

DAY = date(2026, 11, 1)
QUIET_DAY = date(2026, 11, 2)


def land_one_item(cfg):
    folder = cfg.paths.landing / "catalog" / f"date={DAY}"
    folder.mkdir(parents=True)
    item = {
        "content_id": "c000001",
        "content_type": "movie",
        "title": "A Film",
        "description": "A film.",
        "genres": ["drama"],
        "tags": [],
        "language": "en",
        "duration_seconds": 5400,
        "release_date": "2020-01-01",
        "updated_at": "2026-10-31T10:00:00Z",
        "series_id": None,
    }
    (folder / "catalog.jsonl").write_text(json.dumps(item) + "\n")
    return folder


def test_quiet_days_land_nothing_and_a_rerun_after_archiving_keeps_the_day(spark, lake_cfg):
    folder = land_one_item(lake_cfg)
    ingest_catalog.run(spark, lake_cfg, DAY, "run-1")
    bronze_df = spark.table("bronze_catalog").localCheckpoint()
    content_df = spark.table("content").localCheckpoint()

    quiet = ingest_catalog.run(spark, lake_cfg, QUIET_DAY, "run-1")
    quiet_events = ingest_events.run(spark, lake_cfg, QUIET_DAY, "run-1")
    assert (quiet.rows_in, quiet.rows_written, quiet.details) == (0, 0, {"landing_files": "0"})
    assert (quiet_events.rows_in, quiet_events.rows_written) == (0, 0)

    (folder / "catalog.jsonl").unlink()  # archived after ingest
    rerun = ingest_catalog.run(spark, lake_cfg, DAY, "run-2")
    assert (rerun.rows_in, rerun.rows_written) == (1, 1)
    assert_df_equality(spark.table("bronze_catalog"), bronze_df, ignore_row_order=True)
    assert_df_equality(spark.table("content"), content_df, ignore_row_order=True)
