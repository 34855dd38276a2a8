"""Driver-built rows become a LocalRelation with the values a Python RDD would give."""

from datetime import date, datetime, timezone

from chispa import assert_df_equality

from contentlake.driver_rows import local_frame
from contentlake.job_runs import JOB_RUN_SCHEMA

ROWS = [
    (
        "ingest_events",
        date(2026, 11, 1),
        "scheduled__2026-11-01",
        "succeeded",
        10,
        9,
        1,
        {"files": "2"},
        [("events", 3, "ids_present", "fail", 0, ["e1", "e2"], "row", None, "pass", 5)],
        datetime(2026, 11, 2, 5, 6, 7, 123456),
    ),
    # A failed attempt: null counts, no details or checks, quotes and backslashes in text.
    ("it's", date(2026, 11, 2), "r\\1", "failed", None, None, None, {}, [], datetime(2026, 11, 2)),
]


def test_local_frame_is_a_local_relation_with_the_rows_values(spark):
    built_df = local_frame(spark, ROWS, JOB_RUN_SCHEMA)

    plan = built_df._jdf.queryExecution().optimizedPlan()
    assert plan.getClass().getSimpleName() == "LocalRelation"
    # The Python RDD path reads a naive datetime in the machine's zone: the reference gets
    # aware UTC ones, so the comparison holds on any machine.
    reference = [(*row[:-1], row[-1].replace(tzinfo=timezone.utc)) for row in ROWS]
    assert_df_equality(built_df, spark.createDataFrame(reference, JOB_RUN_SCHEMA))
    # Naive datetimes are UTC, whatever the process's time zone.
    assert built_df.selectExpr("cast(finished_at as string)").first()[0] == (
        "2026-11-02 05:06:07.123456"
    )


def test_local_frame_of_no_rows_keeps_the_schema(spark):
    empty_df = local_frame(spark, [], "content_id string, score double")

    assert empty_df.count() == 0
    assert empty_df.schema.simpleString() == "struct<content_id:string,score:double>"
