"""``airflow dags test contentlake_daily``: what the DAG decides, every job task a real
``spark-submit`` on a ``local[2]`` master.

Slow (one spark-submit per task) and deselected by default; run with::

    python -m pytest -m slow tests/e2e/test_dag_run.py

Everything runs in subprocesses with the session's throwaway AIRFLOW_HOME (SQLite metadata
DB, tests/e2e/conftest.py) and a throwaway lakehouse root per test, as on a deployment: the
``cluster`` profile, the master from the ``spark_default`` connection, the shared PostgreSQL
metastore whose password comes from the Airflow connection ``contentlake_metastore`` (never
from a file or the command line), the drivers running the wheel's venv (``env_archive``)
installed outside the checkout. Here: a failing job stops its downstream tasks, a day
without its completion markers is not ingested, and a backfill runs its days oldest first.

A whole good day, with a task killed mid-run and retried, runs on the two-worker
standalone cluster in tests/e2e/test_cluster_pipeline.py, where its tables are compared with
a local run's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow_cli import (
    DAG_ID,
    airflow_command,
    dag_run_states,
    dags_test,
    mark_day_complete,
    run_logged,
)
from contentlake.jobs import DAILY_JOBS

pytestmark = pytest.mark.slow

JOBS = DAILY_JOBS
# This date's catalogue folder holds a link that leads outside the landing root:
# ingest_catalog refuses it with a clear message.
BROKEN_DATE = "2026-11-05"
# This date's files have landed but carry no completion marker: nothing may be ingested.
# Before the other dates, so no earlier run's ingest (depends_on_past) has a say.
UNMARKED_DATE = "2026-10-25"


def test_failing_job_stops_downstream_tasks(airflow_env, lakehouse, tmp_path: Path) -> None:
    root = tmp_path / "broken_lakehouse"
    catalog = root / "landing" / "catalog" / f"date={BROKEN_DATE}"
    catalog.mkdir(parents=True)
    (tmp_path / "elsewhere.jsonl").write_text("{}\n")
    (catalog / "catalog.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    mark_day_complete(root / "landing", BROKEN_DATE)

    done = dags_test(airflow_env, root, BROKEN_DATE, extra_env=lakehouse("dag_broken_day"))
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-5000:]
    assert "outside the landing root" in output

    _, states = dag_run_states(airflow_env, BROKEN_DATE)
    assert states["landing_ready"] == "success", states
    assert states["create_tables"] == "success", states
    assert states["ingest_catalog"] == "failed", states
    for job in JOBS[1:]:
        assert states[job] == "upstream_failed", states


def test_a_day_without_its_completion_markers_is_not_ingested(
    airflow_env, lakehouse, tmp_path
) -> None:
    """Files have landed but the producer never marked the day complete: the sensor gives
    up after CONTENTLAKE_LANDING_TIMEOUT_SECONDS and no ingest starts. (create_tables is
    marked success unrun: it has no upstream and would only cost a JVM start here.)"""
    from contentlake.sample_data import main as sample_data_main

    root = tmp_path / "unmarked_lakehouse"
    landing = root / "landing"
    sample_data_main(["--out", str(landing), "--items", "10", "--days", "1",
                      "--events-per-day", "20", "--start-date", UNMARKED_DATE])  # fmt: skip
    for marker in landing.glob("*/date=*/_SUCCESS"):
        marker.unlink()

    done = dags_test(
        airflow_env,
        root,
        UNMARKED_DATE,
        "--mark-success-pattern",
        "create_tables",
        extra_env=lakehouse("dag_unmarked_day"),
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-5000:]
    assert "is not complete yet" in output

    _, states = dag_run_states(airflow_env, UNMARKED_DATE)
    assert states["landing_ready"] == "failed", states
    for job in JOBS:
        assert states[job] == "upstream_failed", states
    # No Spark job ran against the lakehouse: no table, not even bronze.
    assert not (root / "warehouse").exists()


def test_a_backfill_of_three_days_runs_them_oldest_first(airflow_env) -> None:
    """The documented backfill command: three runs, in date order, one at a time; Airflow
    refuses to run it backwards because the ingests depend on their previous day."""
    # The backfill plans from the serialized DAG, which a `dags test` would also have stored.
    serialized = run_logged([*airflow_command(), "dags", "reserialize"], airflow_env)
    assert serialized.returncode == 0, serialized.stderr[-3000:]
    command = [
        *airflow_command(), "backfill", "create", "--dag-id", DAG_ID,
        "--from-date", "2026-10-01", "--to-date", "2026-10-03",
        "--max-active-runs", "1", "--reprocess-behavior", "failed", "--dry-run",
    ]  # fmt: skip
    done = run_logged(command, airflow_env, cwd=Path(airflow_env["AIRFLOW_HOME"]))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    planned = [line for line in done.stdout.splitlines() if line.startswith("| 20")]
    assert [line.split("|")[1].strip() for line in planned] == [
        "2026-10-01 00:00:00+00:00",
        "2026-10-02 00:00:00+00:00",
        "2026-10-03 00:00:00+00:00",
    ], done.stdout[-3000:]
    assert "max_active_runs = 1" in done.stdout

    backwards = run_logged(
        [*command, "--run-backwards"], airflow_env, cwd=Path(airflow_env["AIRFLOW_HOME"])
    )
    assert backwards.returncode != 0
    assert "cannot be run in reverse" in backwards.stdout + backwards.stderr
