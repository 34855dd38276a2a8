"""Two days of the daily pipeline on a Spark standalone cluster with two workers, driven the
two ways users drive it, equal to the same two days run locally.

* **Day 1, the DAG.** ``airflow dags test contentlake_daily`` with the ``spark_default``
  connection naming the ``standalone_cluster`` fixture's master: every job task is its own
  ``spark-submit`` to the cluster, the ``cluster`` profile, the shared PostgreSQL metastore
  whose password comes from the Airflow connection ``contentlake_metastore``, the drivers and
  executors running the wheel's venv installed outside the checkout (as an image bakes it
  in). ``airflow dags test`` honours retries, so a watcher SIGKILLs ``ingest_events``' driver
  once, right after its first Delta commit: the run must end green with that task on its
  second try, its downstream tasks started after it, and the day's rows counted once.
* **Day 2, a backfill.** ``python -m contentlake.submit daily --one-application`` from the
  wheel's venv, the executors' Python shipped as the packed environment
  (``$CONTENTLAKE_ENV_ARCHIVE``, unpacked by each executor). The workers run without any venv
  on their PATH, so an executor only has Python because the archive brought it.

Then:

* every table's content hash equals an in-process local run of the same two days with the
  same run ids (``lake_hashes``), and so do each job run's record and the published
  snapshots: the killed try left nothing the retry did not make right;
* the embedding model was loaded by executors' Python on the workers (day 1 the venv's,
  day 2 the unpacked archive's), and never in a driver;
* the backfill's application had an executor on each worker, and the pruner emptied the
  executor folders of the finished applications, logs aside.

Slow (about half a minute per DAG task on two cores, where each application starts its
own JVMs, short-lived ones on the C1 compiler; the archive's unpacking on day 2). What the
DAG decides on a failing job, an incomplete day and a backfill plan is tested on a
``local[2]`` master in tests/e2e/test_dag_run.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_cli import (
    DriverKiller,
    dag_run_states,
    dags_test,
    spark_default_connection,
    task_tries,
)
from contentlake.jobs import DAILY_JOBS, SETUP_JOB
from contentlake.udfs.text_embedding import MODEL_LOADED
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.job_runs import default_run_id
from contentlake.pipeline import run_daily
from contentlake.sample_data import SampleSpec, generate, load_expected
from contentlake.standalone_cluster import EXECUTOR_LOGS
from contentlake.tables import ensure_tables

pytestmark = pytest.mark.slow

# A few posters and videos, so every job has rows to write: the keyframes are decoded and
# the images embedded on the workers.
SPEC = SampleSpec(items=60, days=2, users=40, events_per_day=300, media_items=6, seed=13)
DAG_DAY, BACKFILL_DAY = SPEC.landing_dates()
DATABASE = "cluster_pipeline"
LOCAL_DATABASE = "t_cluster_pipeline_local"
TASKS = ("landing_ready", SETUP_JOB, *DAILY_JOBS)
# The task whose first try is killed mid-run, and the Delta table whose first commit says
# that it is mid-run (landed in bronze, nothing in silver yet).
RETRIED_JOB = "ingest_events"
RETRIED_JOB_TABLE = "bronze_events"
# Compared besides the hash fixture's bronze-to-gold tables: the keyframes and media status,
# the fusion's sources and the entities.
MULTIMODAL_TABLES = (
    "content_keyframes",
    "content_media_status",
    "content_fused_sources",
    "content_entities",
    "entity_daily_features",
)
# Columns that name a file by its absolute path: compared relative to the landing root,
# which differs between the two lakehouses by design.
LANDING_PATH_COLUMNS = ("source_file", "resolved_uri")
# The media's fingerprint hashes its absolute path and modification time (a replaced file
# is decoded again): equal files in two landing folders differ there by design.
MEDIA_FINGERPRINT = "media_input_hash"
# What a check decided. Its sample keys are any few violating keys (in no set order) and its
# observed value a floating-point aggregate summed in the order of the partitions, which
# differ between two executors and local[2]: both are left out.
CHECK_OUTCOME_FIELDS = (
    "table_name", "check_name", "severity", "violation_count", "check_kind", "status",
)  # fmt: skip
SUBMIT_TIMEOUT_S = 1500
PRUNE_WAIT_S = 30


@dataclass(frozen=True)
class DagDay:
    """What ``airflow dags test`` left: its exit status and output, the run's id, its task
    states and every task's tries, what the watcher killed, the cluster's new app folders."""

    returncode: int
    output: str
    run_id: str
    states: dict[str, str]
    tries: dict[str, list[tuple]]
    killed: dict[str, object] | None
    app_dirs: list[Path]


@pytest.fixture(scope="module")
def lake_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cluster-pipeline") / "lakehouse"
    generate(root / "landing", SPEC)
    return root


@pytest.fixture(scope="module")
def dag_day(airflow_env, lakehouse, standalone_cluster, lake_root) -> DagDay:
    """Day 1 through the DAG on the cluster, ``ingest_events`` killed once mid-run."""
    killer = DriverKiller(
        RETRIED_JOB, lake_root / "warehouse" / f"{DATABASE}.db" / RETRIED_JOB_TABLE / "_delta_log"
    )
    apps_before = _app_dirs(standalone_cluster)
    done = dags_test(
        airflow_env,
        lake_root,
        DAG_DAY.isoformat(),
        extra_env={
            **lakehouse(DATABASE),
            "AIRFLOW_CONN_SPARK_DEFAULT": spark_default_connection(standalone_cluster.master_url),
            "CONTENTLAKE_DAG_RETRIES": "1",
        },
        watch=killer,
    )
    run_id, states = dag_run_states(airflow_env, DAG_DAY.isoformat())
    tries = task_tries(airflow_env, run_id)
    print("killed:", killer.killed, "tries:", tries)
    return DagDay(
        returncode=done.returncode,
        output=done.stdout + done.stderr,
        run_id=run_id,
        states=states,
        tries=tries,
        killed=killer.killed,
        app_dirs=sorted(_app_dirs(standalone_cluster) - apps_before),
    )


@pytest.fixture(scope="module")
def backfill_day(
    dag_day, env_archive, standalone_cluster, metastore_server, lakehouse, lake_root,
    tmp_path_factory,
) -> tuple[str, list[Path]]:  # fmt: skip
    """Day 2 as a one-application backfill on the cluster, the environment shipped; returns
    (driver output, the cluster's new app folders)."""
    assert dag_day.returncode == 0, dag_day.output[-8000:]
    _, password, _ = metastore_server
    folder = tmp_path_factory.mktemp("cluster-backfill")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith("CONTENTLAKE_")
    }
    env.update(
        {
            "PATH": os.pathsep.join([str(env_archive.venv / "bin"), env.get("PATH", "")]),
            **lakehouse(DATABASE, master=standalone_cluster.master_url),
            "CONTENTLAKE_METASTORE": "postgres",
            # A deployment's secret store sets it; the DAG fills it from its connection.
            "CONTENTLAKE_METASTORE_PASSWORD": password,
            "CONTENTLAKE_ENV_ARCHIVE": str(env_archive.archive),
            # The driver's address as the executors reach it: loopback, like the cluster.
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
    )
    apps_before = _app_dirs(standalone_cluster)
    driver_log = folder / "submit.log"
    started = time.monotonic()
    with driver_log.open("w") as out:
        submit = subprocess.Popen(
            [
                str(env_archive.python),
                "-m",
                "contentlake.submit",
                "daily",
                "--run-date",
                BACKFILL_DAY.isoformat(),
                "--one-application",
                "--profile",
                "cluster",
                "--root",
                str(lake_root),
            ],  # fmt: skip
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group: on a timeout the spark-submit JVM and its Python
            # driver go with it instead of outliving the test.
            start_new_session=True,
        )
        try:
            returncode = submit.wait(SUBMIT_TIMEOUT_S)
        finally:
            if submit.poll() is None:
                os.killpg(submit.pid, signal.SIGKILL)
                submit.wait()
    print(f"backfill of {BACKFILL_DAY} on the cluster: rc={returncode} "
          f"in {time.monotonic() - started:.0f}s")  # fmt: skip
    output = driver_log.read_text(errors="replace")
    assert returncode == 0, output[-8000:]
    return output, sorted(_app_dirs(standalone_cluster) - apps_before)


@pytest.fixture(scope="module")
def local_run(spark, tmp_path_factory, tiny_model, dag_day, lake_root):
    """The same two days in process on local Spark, under the same run ids (the DAG's for
    day 1, the backfill's default for day 2), from a copy of the cluster's landing files:
    the very bytes it read. (Generated again in this process, late in a session, one sample
    video once came out with other bytes: H.264 encodes of the same frames can differ.)"""
    spark.sql(f"drop database if exists {LOCAL_DATABASE} cascade")
    cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("cluster-pipeline-local"),
        overrides={"database": LOCAL_DATABASE, **tiny_model},
    )
    shutil.copytree(lake_root / "landing", cfg.paths.landing)
    started = time.monotonic()
    ensure_tables(spark, cfg)
    run_daily(spark, cfg, DAG_DAY, dag_day.run_id)
    run_daily(spark, cfg, BACKFILL_DAY, default_run_id(BACKFILL_DAY))
    print(f"local run of the same days: {time.monotonic() - started:.0f}s")
    return cfg


def test_the_dag_ran_every_task_on_the_cluster_and_retried_the_killed_one(
    dag_day, standalone_cluster, lake_root, spark
):
    # The retry first: it is this run's point, and holds whatever a later task does.
    assert dag_day.killed is not None, (
        f"{RETRIED_JOB} ended before its first commit: {dag_day.tries}\n{dag_day.output[-6000:]}"
    )
    tries = dag_day.tries
    assert [(n, state) for n, state, *_ in tries[RETRIED_JOB]] == [(1, "failed"), (2, "success")]
    assert dag_day.returncode == 0, dag_day.output[-8000:]
    assert f"--master {standalone_cluster.master_url}" in dag_day.output
    assert dag_day.states == {task: "success" for task in TASKS}, dag_day.states
    # Every other task ran once.
    for task in TASKS:
        if task != RETRIED_JOB:
            assert [(n, state) for n, state, *_ in tries[task]] == [(1, "success")], task
    # Downstream tasks waited for the retry: none started before it had succeeded.
    retried_end = tries[RETRIED_JOB][-1][3]
    for task in ("build_features", "embed_content", "embed_behaviour"):
        assert tries[task][0][2] >= retried_end, (task, tries[task], retried_end)
    # Every spark-submit was an application of the cluster: each job task's (the sensor
    # runs no Spark) and the killed try's.
    submits = len(TASKS) - 1 + 1
    assert len({d.name for d in dag_day.app_dirs}) == submits, dag_day.app_dirs

    attempts = (
        spark.read.format("delta")
        .load(str(lake_root / "warehouse" / f"{DATABASE}.db" / "job_run_attempts"))
        .where(F.col("run_date") == DAG_DAY)
    )
    runs = {row.job: row for row in attempts.collect()}
    # One attempt per job, under the DAG's --run-id {{ run_id }}; the killed try recorded none.
    assert sorted(runs) == sorted(DAILY_JOBS)
    assert attempts.count() == len(DAILY_JOBS)
    assert {row.run_id for row in runs.values()} == {dag_day.run_id}
    # The rerun after the kill counted the day's rows once, though the killed try had
    # already landed them in bronze.
    expected = load_expected(lake_root / "landing")["days"][DAG_DAY.isoformat()]
    assert runs["ingest_catalog"].rows_in == expected["catalog"]["rows"]
    assert runs["ingest_events"].rows_in == expected["events"]["rows"]
    for job in ("ingest_catalog", "ingest_events"):
        row = runs[job]
        assert row.rows_in == row.rows_written + row.rows_quarantined, row


def test_two_days_on_the_cluster_match_the_local_run(
    spark, dag_day, backfill_day, local_run, lake_root, hash_lake, read_snapshots
):
    cluster_tables = lake_root / "warehouse" / f"{DATABASE}.db"
    # job_runs and dq_results are views over job_run_attempts: the attempts are compared
    # record by record below (a difference names its job and field), and their checks'
    # outcomes stand for dq_results (timings and versions aside).
    exclude = {"dq_results": ()}

    def read(load):
        def table_df(table: str):
            if table == "dq_results":
                return check_outcomes(load("job_run_attempts"))
            return load(table).transform(relative_to_landing).drop(MEDIA_FINGERPRINT)

        return table_df

    # The cluster's tables are read as Delta folders: this session's metastore is Derby.
    def cluster_table(table: str):
        return spark.read.format("delta").load(str(cluster_tables / table))

    def local_table(table: str):
        return spark.table(f"{LOCAL_DATABASE}.{table}")

    assert cluster_table("events").select("event_date").distinct().count() >= 2
    assert cluster_table("content_keyframes").count() > 0
    assert attempt_records(cluster_table("job_run_attempts")) == attempt_records(
        local_table("job_run_attempts")
    )
    cluster = hash_lake(read(cluster_table), exclude, MULTIMODAL_TABLES)
    local = hash_lake(read(local_table), exclude, MULTIMODAL_TABLES)
    assert cluster == local
    assert read_snapshots(lake_root / "snapshots") == read_snapshots(local_run.paths.snapshots)


def test_the_embedding_ran_in_the_executors(dag_day, backfill_day, env_archive, standalone_cluster):
    backfill_output, backfill_apps = backfill_day
    by_python: dict[str, set[Path]] = {}
    for app_dir in (*dag_day.app_dirs, *backfill_apps):
        for log in app_dir.glob("*/stderr"):
            for line in log.read_text(errors="replace").splitlines():
                if MODEL_LOADED in line:
                    python = re.search(r" on cpu by (\S+) \(pid", line)
                    assert python, line
                    shipped = log.parent / "env" / "bin" / "python"
                    # Day 1: the venv every node has; day 2: the archive unpacked in the
                    # executor's own folder, beside the stderr it wrote.
                    assert Path(python.group(1)) in (env_archive.python, shipped), line
                    kind = "shipped" if Path(python.group(1)) == shipped else "installed"
                    by_python.setdefault(kind, set()).add(app_dir.parent)

    assert by_python.get("installed"), "no executor of the DAG's tasks loaded the model"
    assert by_python.get("shipped"), "no executor of the backfill loaded the model"
    workers = {Path(work) for work in standalone_cluster.work_dirs}
    assert set().union(*by_python.values()) <= workers, by_python
    assert MODEL_LOADED not in dag_day.output
    assert MODEL_LOADED not in backfill_output


def test_the_backfill_had_an_executor_on_each_worker_and_was_pruned(
    dag_day, backfill_day, standalone_cluster
):
    _, app_dirs = backfill_day
    # Every job of the day in one application, with an executor on each worker.
    assert len({d.name for d in app_dirs}) == 1
    by_worker = {work: {d.name for d in app_dirs if d.parent == Path(work)}
                 for work in standalone_cluster.work_dirs}  # fmt: skip
    assert all(names == {d.name for d in app_dirs} for names in by_worker.values()), by_worker

    finished = [*dag_day.app_dirs, *app_dirs]
    deadline = time.monotonic() + PRUNE_WAIT_S
    while (left := _unpruned(finished)) and time.monotonic() < deadline:
        time.sleep(1)
    assert left == []
    assert all(
        {p.name for p in executor.iterdir()} == set(EXECUTOR_LOGS)
        for app_dir in finished
        for executor in app_dir.iterdir()
    )


def relative_to_landing(df):
    """Rows that name a landing file by its path name it relative to the landing root,
    which differs between the two lakehouses by design."""
    for column in LANDING_PATH_COLUMNS:
        if column in df.columns:
            df = df.withColumn(column, F.regexp_extract(column, r"/landing/(.*)$", 1))
    return df


def attempt_records(attempts) -> dict[tuple, dict]:
    """(job, run_date, run_id) -> what the attempt recorded, less when it finished and its
    checks (compared through ``check_outcomes``)."""
    return {
        (row.job, row.run_date, row.run_id): {
            "status": row.status,
            "rows": (row.rows_in, row.rows_written, row.rows_quarantined),
            "details": dict(row.details or {}),
        }
        for row in attempts.drop("finished_at", "checks").collect()
    }


def check_outcomes(attempts):
    """Every check of every job run, as dq_results shows it, less when and how long it ran,
    the table version it read, its sample keys and its observed value."""
    return attempts.select("run_date", "job", "status", F.explode("checks").alias("c")).select(
        "run_date",
        "job",
        F.col("status").alias("run_status"),
        *(f"c.{field}" for field in CHECK_OUTCOME_FIELDS),
    )


def _unpruned(app_dirs: list[Path]) -> list[Path]:
    return [
        entry
        for app_dir in app_dirs
        for executor in app_dir.iterdir()
        for entry in executor.iterdir()
        if entry.name not in EXECUTOR_LOGS
    ]


def _app_dirs(cluster) -> set[Path]:
    return {app for work in cluster.work_dirs for app in Path(work).glob("app-*")}
