"""Gated writes on real Delta tables: what a failed gate undoes, and the one bookkeeping
row a job run leaves in ``job_runs``.

The checks' own logic is tested on temporary views in ``tests/unit/dq/test_engine.py``;
here only what needs Delta: RESTORE, the undo of a run's own rows, and the job_runs commit.
One lakehouse serves the module; each test writes its own run date or its own rows.
"""

from datetime import date, datetime, timedelta

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.dq.rules import DataQualityError, load_checks
from contentlake.errors import JobFailed
from contentlake.job_run import job_run
from contentlake.tables import ensure_tables, require_table, table_version

DATABASE = "gated_writes"
CATALOGUE = ("c000001", "c000002")


def content_row(content_id, title="A"):
    """A content row; only the columns the checks look at vary."""
    return (content_id, "movie", title, None, None, None, "en", 600, None,
            datetime(2026, 11, 1, 8), None, None, None, date(2026, 11, 1))  # fmt: skip


def event_row(number, ingest, content_id="c000001", hour=20):
    ts = datetime.combine(ingest, datetime.min.time()) + timedelta(hours=hour)
    event_id = f"e{ingest:%Y%m%d}{number:07d}"
    return (event_id, "u1", content_id, "play", ts, ts.date(), 10.0, "tv", ingest)


def rows_df(spark, table, rows):
    return spark.createDataFrame(rows, spark.table(table).schema)


def as_of(spark, table, version):
    """The table as it was at ``version`` (Delta time travel), to compare with after a gate."""
    return spark.sql(f"select * from {table} version as of {int(version)}")


def owned(day):
    return F.col("_ingest_date") == F.lit(day)


def job_runs_row(spark, job, run_date):
    """The one job_runs row of ``job`` for ``run_date`` (fails if there are more)."""
    (row,) = (
        spark.table("job_runs")
        .filter((F.col("job") == job) & (F.col("run_date") == run_date))
        .collect()
    )
    return row


def recorded_checks(row):
    return {(c.table_name, c.check_name): c for c in row.checks}


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    """One lakehouse for the module, holding a two-item catalogue."""
    cfg = load_config(
        profile="local",
        root=tmp_path_factory.mktemp("gated_writes"),
        overrides={"database": DATABASE},
    )
    previous = spark.catalog.currentDatabase()
    spark.sql(f"drop database if exists {DATABASE} cascade")
    ensure_tables(spark, cfg)
    spark.catalog.setCurrentDatabase(DATABASE)
    rows_df(spark, "content", [content_row(c) for c in CATALOGUE]).writeTo("content").append()
    yield cfg
    spark.catalog.setCurrentDatabase(previous)


def test_a_failed_gate_restores_the_table_it_checked(spark, lake):
    run_date = date(2026, 11, 1)
    before_df = as_of(spark, "content", table_version(spark, "content"))
    job_runs_version = table_version(spark, "job_run_attempts")
    duplicate_df = rows_df(spark, "content", [content_row("c000001", "A again")])

    with (
        pytest.raises(DataQualityError, match="check content_id_unique on table content"),
        job_run(spark, lake, "gate_restore", run_date, "run-1") as job,
    ):
        job.gated_write("content", lambda: duplicate_df.writeTo("content").append())
        job.finish(rows_in=1, rows_written=1)

    assert_df_equality(spark.table("content"), before_df, ignore_row_order=True)
    latest = spark.sql("describe history content").orderBy(F.desc("version")).first()
    assert latest.operation == "RESTORE"
    # the failed run is recorded, in one commit, with its checks and the error
    assert table_version(spark, "job_run_attempts") == job_runs_version + 1
    run = job_runs_row(spark, "gate_restore", run_date)
    assert (run.status, run.run_id, run.rows_in, run.rows_written) == (
        "failed",
        "run-1",
        None,
        None,
    )
    assert "content_id_unique" in run.details["error"]
    checks = recorded_checks(run)
    assert len(checks) == len(load_checks("content"))
    unique = checks["content", "content_id_unique"]
    assert (unique.check_kind, unique.severity, unique.status) == ("unique", "fail", "fail")
    assert (unique.violation_count, unique.sample_keys) == (1, ["c000001"])
    assert checks["content", "title_present"].status == "pass"


def test_a_failed_gate_undoes_only_the_runs_own_rows(spark, lake):
    run_date = date(2026, 11, 10)
    day_before, day_after = run_date - timedelta(days=1), run_date + timedelta(days=1)
    rows_df(spark, "events", [event_row(1, day_before), event_row(9, run_date)]).writeTo(
        "events"
    ).append()
    version_before = table_version(spark, "events")
    before_df = as_of(spark, "events", version_before)
    # The run replaces its day, referring to an unknown item ...
    run_df = rows_df(spark, "events", [event_row(1, run_date), event_row(2, run_date, "c999999")])
    backfill_df = rows_df(spark, "events", [event_row(1, day_after)])

    def write():
        run_df.writeTo("events").overwrite(owned(run_date))
        # ... and a concurrent backfill of another day commits before the run's gate.
        backfill_df.writeTo("events").append()

    with (
        pytest.raises(DataQualityError, match="content_id_known") as failure,
        job_run(spark, lake, "gate_undo", run_date, "run-1") as job,
    ):
        job.gated_write("events", write, owned_rows="_ingest_date = {run_date}")
        job.finish(rows_in=2, rows_written=2)

    assert "sample keys: e202611100000002" in str(failure.value)
    # the run's day is as it was (its earlier row is back), the other days are untouched
    assert_df_equality(
        spark.table("events"), before_df.unionByName(backfill_df), ignore_row_order=True
    )
    # the run's write, the backfill, then an overwrite of the run's rows (no RESTORE)
    assert table_version(spark, "events") == version_before + 3
    latest = spark.sql("describe history events").orderBy(F.desc("version")).first()
    assert latest.operation == "WRITE"
    run = job_runs_row(spark, "gate_undo", run_date)
    known = recorded_checks(run)["events", "content_id_known"]
    assert (run.status, known.status, known.violation_count, known.sample_keys) == (
        "failed",
        "fail",
        1,
        ["e202611100000002"],
    )


def test_writes_gated_together_are_undone_together_when_one_table_fails(spark, lake):
    run_date = date(2026, 11, 15)
    versions = {t: table_version(spark, t) for t in ("events", "content")}
    before = {t: as_of(spark, t, v) for t, v in versions.items()}
    events_df = rows_df(spark, "events", [event_row(n, run_date) for n in range(2)])
    duplicate_df = rows_df(spark, "content", [content_row("c000002", "B again")])

    with (
        pytest.raises(DataQualityError, match="check content_id_unique on table content"),
        job_run(spark, lake, "gate_together_fail", run_date, "run-1") as job,
        job.gate_together(),
    ):
        # The events pass their own checks; they are written first and checked last.
        job.gated_write(
            "events",
            lambda: events_df.writeTo("events").overwrite(owned(run_date)),
            owned_rows="_ingest_date = {run_date}",
        )
        job.gated_write("content", lambda: duplicate_df.writeTo("content").append())

    for table, before_df in before.items():
        assert_df_equality(spark.table(table), before_df, ignore_row_order=True)
    # each table: the run's write, then its undo (content restored, the events put back)
    assert {t: table_version(spark, t) for t in versions} == {
        t: v + 2 for t, v in versions.items()
    }
    run = job_runs_row(spark, "gate_together_fail", run_date)
    checks = recorded_checks(run)
    # one batch judged both tables: every check of each, recorded once
    assert len(checks) == len(run.checks) == len(load_checks("events")) + len(
        load_checks("content")
    )
    assert checks["events", "content_id_known"].status == "pass"
    assert (run.status, checks["content", "content_id_unique"].sample_keys) == (
        "failed",
        ["c000002"],
    )


def test_an_error_inside_a_gate_together_block_undoes_its_unchecked_writes(spark, lake):
    run_date = date(2026, 11, 16)
    version = table_version(spark, "events")
    before_df = as_of(spark, "events", version)
    events_df = rows_df(spark, "events", [event_row(1, run_date)])

    with (
        pytest.raises(JobFailed, match="the second input is missing"),
        job_run(spark, lake, "gate_together_error", run_date, "run-1") as job,
        job.gate_together(),
    ):
        job.gated_write(
            "events",
            lambda: events_df.writeTo("events").overwrite(owned(run_date)),
            owned_rows="_ingest_date = {run_date}",
        )
        raise JobFailed("the second input is missing")

    assert_df_equality(spark.table("events"), before_df, ignore_row_order=True)
    assert table_version(spark, "events") == version + 2
    run = job_runs_row(spark, "gate_together_error", run_date)
    # no check ran: the write was undone before its gate
    assert (run.status, len(run.checks)) == ("failed", 0)


def test_a_job_run_commits_one_bookkeeping_row_that_a_rerun_replaces(spark, lake):
    run_date = date(2026, 11, 20)
    run_df = rows_df(spark, "events", [event_row(n, run_date) for n in range(3)])

    def run_job(run_id, check_content):
        with job_run(spark, lake, "gate_pass", run_date, run_id) as job:
            job.gated_write(
                "events",
                lambda: run_df.writeTo("events").overwrite(owned(run_date)),
                owned_rows="_ingest_date = {run_date}",
            )
            if check_content:
                job.check("content")
            return job.finish(rows_in=3, rows_written=3)

    versions = [table_version(spark, "job_run_attempts")]
    run_job("run-1", check_content=False)
    versions.append(table_version(spark, "job_run_attempts"))
    first = job_runs_row(spark, "gate_pass", run_date)
    run_job("run-2", check_content=True)
    versions.append(table_version(spark, "job_run_attempts"))

    assert versions == [versions[0], versions[0] + 1, versions[0] + 2]
    assert (first.status, first.run_id, first.rows_in, first.rows_written) == (
        "succeeded",
        "run-1",
        3,
        3,
    )
    assert {table for table, _ in recorded_checks(first)} == {"events"}
    row = job_runs_row(spark, "gate_pass", run_date)  # job_runs shows the latest attempt
    attempts = spark.table("job_run_attempts").filter(
        (F.col("job") == "gate_pass") & (F.col("run_date") == run_date)
    )
    assert sorted(r.run_id for r in attempts.collect()) == ["run-1", "run-2"]
    assert (row.status, row.run_id, row.rows_quarantined) == ("succeeded", "run-2", 0)
    # the dq_results view shows the rerun's checks only, with the count it observed
    history = spark.table("dq_results").filter(
        (F.col("job") == "gate_pass") & (F.col("run_date") == run_date)
    )
    assert history.count() == len(load_checks("events")) + len(load_checks("content"))
    assert {r.run_id for r in history.select("run_id").distinct().collect()} == {"run-2"}
    (volume,) = history.filter("check_name = 'volume_within_trailing_band'").collect()
    assert (volume.table_name, volume.status, volume.observed_value) == ("events", "pass", 3.0)
    assert spark.table("events").filter(owned(run_date)).count() == 3


def test_unknown_tables_unsafe_names_and_missing_lakehouses_are_refused(spark, lake):
    assert require_table(spark, "events") == "events"
    with pytest.raises(ValueError, match="'no_such_table' does not exist in database"):
        require_table(spark, "no_such_table")
    with pytest.raises(ValueError, match="not a valid table"):
        require_table(spark, "events; drop table content")
    missing = load_config(profile="local", root=lake.paths.root, overrides={"database": "nowhere"})
    with (
        pytest.raises(JobFailed, match="database 'nowhere' does not exist"),
        job_run(spark, missing, "gate_missing", date(2026, 11, 1)),
    ):
        pass
    assert spark.catalog.currentDatabase() == DATABASE
