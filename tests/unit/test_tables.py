from datetime import date, datetime

import pytest
from py4j.protocol import Py4JJavaError

from contentlake.errors import JobFailed
from contentlake.tables import ensure_tables, table_version


def test_check_constraints_refuse_a_violating_write_as_a_whole(spark, lake_db):
    ensure_tables(spark, lake_db)
    ensure_tables(spark, lake_db)  # a second pass changes nothing
    schema = spark.table("events").schema
    ts = datetime(2026, 11, 1, 20)
    day = date(2026, 11, 1)
    good = ("e202611010000001", "u1", "c1", "play", ts, day, 10.0, "tv", day)
    unknown_type = ("e202611010000002", "u1", "c1", "rewind", ts, day, 10.0, "tv", day)
    negative_watch = ("e202611010000003", "u1", "c1", "play", ts, day, -1.0, "tv", day)
    version = table_version(spark, "events")

    for bad, constraint in ((unknown_type, "event_type_known"), (negative_watch, "watch_seconds")):
        with pytest.raises(Py4JJavaError, match=f"CHECK constraint {constraint}"):
            spark.createDataFrame([good, bad], schema).writeTo("events").append()

    assert spark.table("events").count() == 0
    assert table_version(spark, "events") == version
    properties = spark.sql("show tblproperties content_embeddings").collect()
    assert {row.key: row.value for row in properties}["delta.constraints.dim_positive"] == "dim > 0"


def test_an_older_lakehouse_with_job_runs_as_a_table_is_told_how_to_upgrade(spark, lake_db):
    spark.sql(f"create database {lake_db.database}")
    spark.sql(f"create table {lake_db.database}.job_runs (job string) using delta")

    with pytest.raises(JobFailed, match="job_runs is a table in this lakehouse"):
        ensure_tables(spark, lake_db)


def test_the_bookkeeping_log_is_checkpointed_by_maintenance_not_by_every_tenth_job(spark, lake_cfg):
    from contentlake.maintenance import apply_declared_properties, table_properties

    assert table_properties(spark, "job_run_attempts")["delta.checkpointInterval"] == "100"
    # A lakehouse created before the property: the weekly maintenance sets it, once.
    spark.sql("alter table job_run_attempts unset tblproperties ('delta.checkpointInterval')")
    assert "delta.checkpointInterval" not in table_properties(spark, "job_run_attempts")

    assert apply_declared_properties(spark, "job_run_attempts") == ("delta.checkpointInterval",)
    assert table_properties(spark, "job_run_attempts")["delta.checkpointInterval"] == "100"
    assert apply_declared_properties(spark, "job_run_attempts") == ()
