"""The three severities through the ingest jobs, on real Spark and Delta.

quarantine: a staged row a check rejects goes to the quarantine table with the check's
name and never reaches the target; counts reconcile. fail: the job stops naming the check,
the table and sample keys, and the target table is as it was before the run.
"""

import json
import shutil
from datetime import date

import pytest
from chispa import assert_df_equality
from contentlake.jobs import ingest_catalog, ingest_events

from contentlake.dq import rules
from contentlake.dq.rules import DataQualityError
from contentlake.tables import table_version

RUN_DATE = date(2026, 11, 1)
HEADER = "event_id,user_id,content_id,event_type,event_ts,watch_seconds,device"


def item(content_id, duration):
    return json.dumps(
        {
            "content_id": content_id,
            "content_type": "movie",
            "title": f"Title {content_id}",
            "description": "A film.",
            "genres": ["drama"],
            "tags": ["family"],
            "language": "en",
            "duration_seconds": duration,
            "release_date": "2020-01-01",
            "updated_at": "2026-10-31T10:00:00Z",
            "series_id": None,
        }
    )


def event(number, watch, device="tv"):
    return f"e20261101{number:07d},u1,c000001,play,2026-11-01T21:00:00Z,{watch},{device}"


def land(cfg, items, events):
    catalog = cfg.paths.landing / "catalog" / f"date={RUN_DATE}"
    catalog.mkdir(parents=True)
    (catalog / "catalog.jsonl").write_text("\n".join(items) + "\n")
    folder = cfg.paths.landing / "events" / f"date={RUN_DATE}"
    folder.mkdir(parents=True)
    (folder / "events.csv").write_text("\n".join([HEADER, *events]) + "\n")


def dq_row(spark, table, check):
    return (
        spark.table("dq_results")
        .filter(f"table_name = '{table}' and check_name = '{check}'")
        .select("status", "violation_count", "sample_keys")
        .first()
    )


def test_quarantine_checks_move_rows_aside_before_the_write(spark, lake_cfg):
    land(
        lake_cfg,
        [item("c000001", 5400), item("c000002", 50_000)],  # 50,000 s: longer than 12 hours
        [event(1, 600), event(2, 90_000), event(3, 700)],  # 90,000 s: more than a day
    )
    catalog_result = ingest_catalog.run(spark, lake_cfg, RUN_DATE, "run-1")
    events_result = ingest_events.run(spark, lake_cfg, RUN_DATE, "run-1")

    assert [r.content_id for r in spark.table("content").collect()] == ["c000001"]
    assert sorted(r.event_id for r in spark.table("events").collect()) == [
        "e202611010000001",
        "e202611010000003",
    ]
    quarantined = {
        (r.record_key, r.reason, r.check_name)
        for table in ("content_quarantine", "events_quarantine")
        for r in spark.table(table).collect()
    }
    assert quarantined == {
        ("c000002", "duration_plausible", "duration_plausible"),
        ("e202611010000002", "watch_seconds_plausible", "watch_seconds_plausible"),
    }
    raw = spark.table("events_quarantine").first().raw_record
    assert json.loads(raw)["watch_seconds"] == "90000"

    assert (catalog_result.rows_in, catalog_result.rows_written) == (2, 1)
    assert (events_result.rows_in, events_result.rows_written) == (3, 2)
    for result in (catalog_result, events_result):
        assert result.rows_quarantined == 1
        assert result.rows_in == result.rows_written + result.rows_quarantined
    assert events_result.details["quarantined.watch_seconds_plausible"] == "1"
    assert dq_row(spark, "events", "watch_seconds_plausible") == ("quarantined", 1, [])
    assert dq_row(spark, "content", "duration_plausible") == ("quarantined", 1, [])


def test_a_failing_fail_check_leaves_the_target_as_it_was(spark, lake_cfg, tmp_path, monkeypatch):
    # The shipped catalogue plus one check this data breaks: no events from fridges.
    checks = tmp_path / "dq"
    shutil.copytree(rules.DQ_DIR, checks)
    (checks / "events" / "no_fridges.sql").write_text(
        "-- severity: fail\n-- kind: row\n-- description: fridges do not stream video\n"
        "select event_id from events where _ingest_date = {run_date} and device = 'fridge'\n"
    )
    monkeypatch.setattr(rules, "DQ_DIR", checks)
    land(lake_cfg, [item("c000001", 5400)], [event(1, 600), event(2, 700, device="fridge")])
    ingest_catalog.run(spark, lake_cfg, RUN_DATE, "run-1")
    before_df = spark.table("events").localCheckpoint()
    version_before = table_version(spark, "events")

    with pytest.raises(DataQualityError) as failure:
        ingest_events.run(spark, lake_cfg, RUN_DATE, "run-1")

    assert str(failure.value).startswith("data-quality gate failed:")
    assert (
        "check no_fridges on table events for 2026-11-01: 1 violating rows "
        "(sample keys: e202611010000002) - fridges do not stream video"
    ) in str(failure.value)
    assert_df_equality(spark.table("events"), before_df, ignore_row_order=True)
    assert table_version(spark, "events") > version_before  # the write, then its RESTORE
    assert dq_row(spark, "events", "no_fridges") == ("fail", 1, ["e202611010000002"])
    run = spark.table("job_runs").filter("job = 'ingest_events'").collect()
    # The failed run is recorded as failed, with no row counts: the gate undid its write.
    assert [(r.status, r.rows_in, r.rows_written) for r in run] == [("failed", None, None)]
    assert run[0].details["error"] == str(failure.value)
