from datetime import date, datetime

import pytest
from chispa import assert_df_equality

from contentlake.quality import (
    DQ_DIR,
    Check,
    DataQualityError,
    bind_run_date,
    load_checks,
    run_table_checks,
)
from contentlake.tables import ensure_tables, table_version

RUN_DATE = date(2026, 11, 1)


def content_row(content_id, content_type, title):
    """A content table row; only the columns the checks look at vary."""
    updated_at = datetime(2026, 11, 1)
    return (
        content_id,
        content_type,
        title,
        None,
        None,
        None,
        "en",
        10,
        None,
        updated_at,
        None,
        RUN_DATE,
    )


def test_every_shipped_check_declares_a_valid_severity_and_description():
    tables = [folder.name for folder in DQ_DIR.iterdir() if folder.is_dir()]
    assert set(tables) >= {"content", "events", "content_daily_features", "content_embeddings"}
    for table in tables:
        for check in load_checks(table):
            assert check.severity in ("warn", "fail")
            assert check.description
            assert check.table == table


def test_a_check_without_severity_is_refused(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "no_header.sql").write_text("select event_id from events")
    with pytest.raises(ValueError, match="severity must be one of"):
        Check.from_file(folder / "no_header.sql")


def test_run_date_is_bound_as_a_date_literal_only():
    sql = "select 1 from events where event_date = {run_date}"
    assert bind_run_date(sql, RUN_DATE) == (
        "select 1 from events where event_date = DATE '2026-11-01'"
    )
    with pytest.raises(TypeError):
        bind_run_date(sql, "2026-11-01'; drop table events; --")


def test_failing_check_stops_with_table_check_and_sample_keys(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)

    items = [
        content_row("c1", "movie", "A"),
        content_row("c1", "movie", "B"),
        content_row("c2", "episode", "C"),
    ]
    spark.createDataFrame(items, spark.table("content").schema).writeTo("content").append()
    with pytest.raises(DataQualityError) as failure:
        run_table_checks(spark, lake_cfg, "content", RUN_DATE, "run-1")

    message = str(failure.value)
    assert "check content_id_unique on table content" in message
    assert "1 violating rows (sample keys: c1)" in message
    recorded = {
        (row.check_name, row.status, row.violation_count, tuple(row.sample_keys))
        for row in spark.table("dq_results").collect()
    }
    assert recorded == {
        ("content_id_unique", "fail", 1, ("c1",)),
        ("episode_has_series", "warn", 1, ("c2",)),
        ("title_present", "pass", 0, ()),
    }


def test_a_failed_gate_restores_the_table_it_checked(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    good = [content_row("c1", "movie", "A"), content_row("c2", "movie", "B")]
    spark.createDataFrame(good, spark.table("content").schema).writeTo("content").append()
    before_df = spark.table("content").localCheckpoint()
    version_before = table_version(spark, "content")

    duplicate = [content_row("c1", "movie", "A again")]
    spark.createDataFrame(duplicate, spark.table("content").schema).writeTo("content").append()
    with pytest.raises(DataQualityError, match="content_id_unique"):
        run_table_checks(
            spark, lake_cfg, "content", RUN_DATE, "run-1", restore_version=version_before
        )

    assert_df_equality(spark.table("content"), before_df, ignore_row_order=True)
    latest = spark.sql("describe history content").orderBy("version", ascending=False).first()
    assert latest.operation == "RESTORE"


def test_rerunning_checks_replaces_their_history_rows(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    run_table_checks(spark, lake_cfg, "content", RUN_DATE, "run-1")
    run_table_checks(spark, lake_cfg, "content", RUN_DATE, "run-2")
    rows = spark.table("dq_results").collect()
    assert len(rows) == len(load_checks("content"))
    assert {row.run_id for row in rows} == {"run-2"}
