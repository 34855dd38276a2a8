"""A late event lands in its own event_date partition, and a backfill of that date's
features picks it up; rerunning the ingest that carried it stores it once."""

import csv
import json
from datetime import date

import pytest
from contentlake.jobs import build_features, ingest_catalog, ingest_events
from pyspark.sql import functions as F

from contentlake.sample_data import SampleSpec, catalog_path, events_path, generate

# Two ingest days, a backfill and a rerun: about three minutes on two cores.
pytestmark = pytest.mark.slow

DAY_1, DAY_2 = date(2026, 11, 1), date(2026, 11, 2)


def a_playable_item(landing, day):
    for line in catalog_path(landing, day).read_text().splitlines():
        record = json.loads(line) if line.startswith("{") and line.endswith("}") else {}
        if record.get("content_type") == "movie" and record["content_id"] < "c900000":
            return record["content_id"]
    raise AssertionError("no movie in the sample catalogue")


def views_1d(spark, content_id, day):
    return (
        spark.table("content_daily_features")
        .filter((F.col("content_id") == content_id) & (F.col("feature_date") == day))
        .first()
        .views_1d
    )


def test_late_event_lands_in_its_day_and_backfill_recomputes_it(spark, lake_cfg):
    generate(
        lake_cfg.paths.landing,
        SampleSpec(items=20, days=2, users=10, events_per_day=80, start_date=DAY_1, bad_share=0.0),
    )
    item = a_playable_item(lake_cfg.paths.landing, DAY_1)
    with events_path(lake_cfg.paths.landing, DAY_2).open("a", newline="") as handle:
        csv.writer(handle).writerow(
            ["late-1", "u-late", item, "play", "2026-11-01T23:50:00Z", "", "tv"]
        )

    for job in (ingest_catalog, ingest_events, build_features):
        job.run(spark, lake_cfg, DAY_1)
    before = views_1d(spark, item, DAY_1)

    ingest_catalog.run(spark, lake_cfg, DAY_2)
    ingest_events.run(spark, lake_cfg, DAY_2)
    ingest_events.run(spark, lake_cfg, DAY_2)  # a rerun must not store it twice
    late = spark.table("events").filter(F.col("event_id") == "late-1").collect()
    assert [(r.event_date, r._ingest_date) for r in late] == [(DAY_1, DAY_2)]

    assert views_1d(spark, item, DAY_1) == before  # features are not rewritten behind you
    build_features.run(spark, lake_cfg, DAY_1)  # the backfill of the late event's date
    assert views_1d(spark, item, DAY_1) == before + 1
