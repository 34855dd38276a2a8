"""A day of the daily pipeline on a Spark standalone cluster with two workers, through
``spark-submit``, equal to the same day run locally.

``python -m contentlake.submit daily --one-application --profile cluster`` runs from the
wheel's venv (the ``env_archive`` fixture) outside the checkout, so the jobs run from the
installed wheel, against the ``standalone_cluster`` fixture's
master, with the PostgreSQL metastore and the executors' Python shipped as the archive
(``$CONTENTLAKE_ENV_ARCHIVE``). The workers run without that venv on their PATH, so an
executor only has Python because the archive brought it. Then:

* every table's content hash equals the in-process local run's (``lake_hashes``), and so
  do the published snapshots;
* the embedding model was loaded by executors' Python, from the unpacked archive under a
  worker's work directory, and never in the driver;
* every application had an executor on each worker, and the pruner emptied the executor
  folders of the finished applications, logs aside.

Slow: every job of the day in one application (``jobs/backfill.py``), so the driver and
each executor unpack the ~2 GB environment once (timings printed). One day, not two: what
is the cluster's (the shipped Python, executors on both workers, the pruner, PostgreSQL)
shows on the first day, while a second day's incremental paths are the same code on any
master and run locally in tests/e2e/test_daily_pipeline.py (two days) and
tests/integration/test_concurrent_writers.py. The second day cost about four minutes of CI.
The DAG's tasks are spark-submits too, on a local master (tests/e2e/test_dag_run.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from contentlake.udfs.text_embedding import MODEL_LOADED
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.metastore import INSTALL_HINT, down, server_available, up
from contentlake.pipeline import run_daily
from contentlake.sample_data import SampleSpec, generate
from contentlake.standalone_cluster import EXECUTOR_LOGS, SMALL_APPLICATION_CONF
from contentlake.tables import ensure_tables

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not server_available(), reason=f"PostgreSQL server binaries not installed: {INSTALL_HINT}"
    ),
]

SPEC = SampleSpec(items=20, days=1, users=10, events_per_day=120, seed=13)
DATABASE = "cluster_pipeline"
LOCAL_DATABASE = "t_cluster_pipeline_local"
SUBMIT_TIMEOUT_S = 1500
# What a check decided. Its sample keys are any few violating keys (in no set order) and its
# observed value a floating-point aggregate summed in the order of the partitions, which
# differ between two executors and local[2]: both are left out.
CHECK_OUTCOME_FIELDS = (
    "table_name", "check_name", "severity", "violation_count", "check_kind", "status",
)  # fmt: skip
PRUNE_WAIT_S = 30


def without_landing_root(df):
    """Bronze rows name the file they came from: compare them relative to the landing root,
    which differs between the two lakehouses by design."""
    if "source_file" not in df.columns:
        return df
    return df.withColumn("source_file", F.regexp_extract("source_file", r"/landing/(.*)$", 1))


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


@pytest.fixture(scope="module")
def cluster_run(env_archive, standalone_cluster, tiny_model, tmp_path_factory):
    """The day submitted to the cluster; returns (config, driver output, new app dirs)."""
    # Not under pytest's tmp folder (0700): the PostgreSQL server runs as its own user.
    root = Path(tempfile.mkdtemp(prefix="contentlake-cluster-pipeline-"))
    root.chmod(0o755)
    port = _free_port()
    overlay = {
        "database": DATABASE,
        # The same tiny models as the local run (``tiny_model``), the image model included:
        # each job records the model it ran with.
        **tiny_model,
        "metastore": {"postgres": {"port": port}},
        "spark": {"master": standalone_cluster.master_url, "conf": SMALL_APPLICATION_CONF},
    }
    site_conf = tmp_path_factory.mktemp("cluster-conf") / "site.yaml"
    site_conf.write_text(yaml.safe_dump(overlay))
    cfg = load_config(
        "cluster", root=root, overrides={**overlay, "metastore": {"kind": "postgres",
                                                                  **overlay["metastore"]}}
    )
    up(cfg)
    try:
        generate(cfg.paths.landing, SPEC)
        days = SPEC.landing_dates()
        apps_before = _app_dirs(standalone_cluster)
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "VIRTUAL_ENV") and not key.startswith("CONTENTLAKE_")
        }
        env.update(
            {
                "PATH": os.pathsep.join([str(env_archive.venv / "bin"), env.get("PATH", "")]),
                "CONTENTLAKE_CONF": str(site_conf),
                "CONTENTLAKE_METASTORE": "postgres",
                "CONTENTLAKE_ENV_ARCHIVE": str(env_archive.archive),
                # The driver's address as the executors reach it: loopback, like the cluster.
                "SPARK_LOCAL_IP": "127.0.0.1",
            }
        )
        driver_log = tmp_path_factory.mktemp("cluster-driver") / "submit.log"
        started = time.monotonic()
        with driver_log.open("w") as out:
            submit = subprocess.Popen(
                [str(env_archive.python), "-m", "contentlake.submit", "daily",
                 "--start", days[0].isoformat(), "--end", days[-1].isoformat(),
                 "--one-application", "--profile", "cluster", "--root", str(root)],
                cwd=driver_log.parent,
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
        print(f"submit daily on the cluster: rc={returncode} "
              f"in {time.monotonic() - started:.0f}s")
        output = driver_log.read_text(errors="replace")
        assert returncode == 0, output[-8000:]
        yield cfg, output, sorted(_app_dirs(standalone_cluster) - apps_before)
    finally:
        down(cfg)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def local_run(spark, tmp_path_factory, tiny_model):
    """The same day, in process on local Spark."""
    spark.sql(f"drop database if exists {LOCAL_DATABASE} cascade")
    cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("cluster-pipeline-local"),
        overrides={"database": LOCAL_DATABASE, **tiny_model},
    )
    generate(cfg.paths.landing, SPEC)
    started = time.monotonic()
    ensure_tables(spark, cfg)
    for day in SPEC.landing_dates():
        run_daily(spark, cfg, day)
    print(f"local run of the same day: {time.monotonic() - started:.0f}s")
    return cfg


def test_the_cluster_run_matches_the_local_run(
    spark, cluster_run, local_run, hash_lake, read_snapshots
):
    cluster_cfg, _, _ = cluster_run
    cluster_tables = cluster_cfg.paths.warehouse / f"{DATABASE}.db"
    # job_runs and dq_results are views over job_run_attempts: the attempts are compared
    # record by record below (a difference names its job and field), and their checks'
    # outcomes stand for dq_results (timings and versions aside).
    exclude = {"dq_results": ()}

    def read(load):
        def table_df(table: str):
            if table == "dq_results":
                return check_outcomes(load("job_run_attempts"))
            return load(table).transform(without_landing_root)

        return table_df

    # The cluster's tables are read as Delta folders: this session's metastore is Derby.
    def cluster_table(table: str):
        return spark.read.format("delta").load(str(cluster_tables / table))

    def local_table(table: str):
        return spark.table(f"{LOCAL_DATABASE}.{table}")

    cluster = hash_lake(read(cluster_table), exclude)
    local = hash_lake(read(local_table), exclude)

    assert cluster_table("content").count() > 0
    assert cluster == local
    assert attempt_records(cluster_table("job_run_attempts")) == attempt_records(
        local_table("job_run_attempts")
    )
    assert read_snapshots(cluster_cfg.paths.snapshots) == read_snapshots(
        local_run.paths.snapshots
    )


def test_the_embedding_ran_in_the_executors_from_the_shipped_environment(
    cluster_run, standalone_cluster
):
    _, driver_output, app_dirs = cluster_run
    loaded = [
        (log, line)
        for app_dir in app_dirs
        for log in app_dir.glob("*/stderr")
        for line in log.read_text(errors="replace").splitlines()
        if MODEL_LOADED in line
    ]

    assert loaded, f"no {MODEL_LOADED!r} line in the executors' stderr of {app_dirs}"
    for log, line in loaded:
        # The interpreter is ./env/bin/python inside the executor's own folder, which holds
        # the stderr it wrote to: the unpacked archive, not the driver's venv.
        python = re.search(r" on cpu by (\S+) \(pid", line)
        assert python, line
        assert Path(python.group(1)) == log.parent / "env" / "bin" / "python", line
    assert MODEL_LOADED not in driver_output


def test_the_application_had_an_executor_on_each_worker_and_was_pruned(
    cluster_run, standalone_cluster
):
    _, _, app_dirs = cluster_run
    # Every job of the day in one application.
    assert len({d.name for d in app_dirs}) == 1
    by_worker = {work: {d.name for d in app_dirs if d.parent == Path(work)}
                 for work in standalone_cluster.work_dirs}
    assert all(names == {d.name for d in app_dirs} for names in by_worker.values()), by_worker

    deadline = time.monotonic() + PRUNE_WAIT_S
    while (left := _unpruned(app_dirs)) and time.monotonic() < deadline:
        time.sleep(1)
    assert left == []
    assert all(
        {p.name for p in executor.iterdir()} == set(EXECUTOR_LOGS)
        for app_dir in app_dirs
        for executor in app_dir.iterdir()
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
