"""``airflow dags test contentlake_daily`` against local Spark, end to end.

Slow (several minutes: one spark-submit per job) and deselected by default; run with::

    python -m pytest -m slow tests/e2e/test_dag_run.py

Everything runs in subprocesses with a throwaway AIRFLOW_HOME (SQLite metadata DB) and a
throwaway lakehouse root, so nothing here holds a Derby metastore lock or Airflow's
configuration in the pytest process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

if importlib.util.find_spec("airflow") is None:
    pytest.skip("apache-airflow is not installed (optional extra)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "contentlake_daily"
JOBS = (
    "ingest_catalog",
    "ingest_events",
    "build_features",
    "embed_content",
    "publish_index",
    "measure_drift",
)
TASKS = ("create_tables", *JOBS)
RUN_DATE = "2026-11-01"
# This date's catalogue folder holds a link that leads outside the landing root:
# ingest_catalog refuses it with a clear message.
BROKEN_DATE = "2026-11-05"
VENV_BIN = Path(sys.executable).parent
DAG_TEST_TIMEOUT_S = 1800


def _airflow() -> list[str]:
    script = VENV_BIN / "airflow"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "airflow"]


def _run(command: list[str], env: dict[str, str], timeout: int = 300, cwd: Path | None = None):
    started = time.monotonic()
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    elapsed = time.monotonic() - started
    shown = " ".join(part.splitlines()[0][:60] if part else part for part in command[:4])
    print(f"$ {shown} ... rc={done.returncode} in {elapsed:.0f}s")
    return done


def _last_json(stdout: str):
    """Airflow CLIs may print warnings first; the JSON answer is the last ``[``/``{`` line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(("[", "{")):
            return json.loads(line)
    raise AssertionError(f"no JSON in output:\n{stdout[-3000:]}")


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory, tiny_model_conf) -> dict[str, str]:
    """Environment for the ``airflow`` CLI: fresh metadata DB, local Spark, no retries."""
    if not (VENV_BIN / "spark-submit").is_file():
        pytest.skip(f"no spark-submit next to {sys.executable}")
    airflow_home = tmp_path_factory.mktemp("airflow_home")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "CONTENTLAKE_"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "airflow_dags"),
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
            # Host is the master URL as is: the Spark hook passes it on as --master local[2].
            "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
            # spark-submit must be the venv's (pyspark 4.1.3), and so must every python.
            "PATH": os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
            "CONTENTLAKE_PROFILE": "local",
            # Every task embeds with the tiny test model (a site overlay of conf/).
            "CONTENTLAKE_CONF": str(tiny_model_conf),
            # A failing job fails its task at once instead of waiting out the backoff.
            "CONTENTLAKE_DAG_RETRIES": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    done = _run([*_airflow(), "db", "migrate"], env, cwd=airflow_home)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


def dags_test(env: dict[str, str], root: Path, run_date: str) -> subprocess.CompletedProcess:
    env = {**env, "CONTENTLAKE_ROOT": str(root)}
    return _run(
        [*_airflow(), "dags", "test", DAG_ID, run_date],
        env,
        timeout=DAG_TEST_TIMEOUT_S,
        cwd=Path(env["AIRFLOW_HOME"]),
    )


def dag_run_states(env: dict[str, str], run_date: str) -> tuple[str, dict[str, str]]:
    """(run_id, {task_id: state}) of the run for ``run_date``, from the metadata DB."""
    runs = _last_json(_run([*_airflow(), "dags", "list-runs", DAG_ID, "-o", "json"], env).stdout)
    matching = [run for run in runs if run["logical_date"].startswith(run_date)]
    assert len(matching) == 1, runs
    run_id = matching[0]["run_id"]
    done = _run([*_airflow(), "tasks", "states-for-dag-run", DAG_ID, run_id, "-o", "json"], env)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_id, {row["task_id"]: row["state"] for row in _last_json(done.stdout)}


QUERY_LAKEHOUSE = """
import json, sys
from contentlake.config import load_config
from contentlake.session import build_spark

cfg = load_config(profile="local", root=sys.argv[1])
spark = build_spark(cfg)
try:
    spark.catalog.setCurrentDatabase(cfg.database)
    counts = {
        table: spark.table(table).count()
        for table in ("content", "events", "content_daily_features", "content_embeddings")
    }
    runs = [
        row.asDict()
        for row in spark.table("job_runs").where(f"run_date = date'{sys.argv[2]}'").collect()
    ]
finally:
    spark.stop()
print(json.dumps({"counts": counts, "job_runs": runs}, default=str))
"""


def query_lakehouse(env: dict[str, str], root: Path, run_date: str) -> dict:
    """Table counts and job_runs rows, read by a separate Spark driver after the DAG run
    (the embedded Derby metastore admits one JVM at a time)."""
    done = _run(
        [sys.executable, "-c", QUERY_LAKEHOUSE, str(root), run_date],
        {**env, "CONTENTLAKE_ROOT": str(root)},
        timeout=600,
        cwd=root,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return _last_json(done.stdout)


def test_daily_dag_runs_every_job_against_local_spark(airflow_env, tmp_path: Path) -> None:
    from contentlake.sample_data import load_expected
    from contentlake.sample_data import main as sample_data_main

    root = tmp_path / "lakehouse"
    landing = root / "landing"
    sample_data_main(
        [
            "--out",
            str(landing),
            "--items",
            "60",
            "--days",
            "1",
            "--events-per-day",
            "300",
            "--start-date",
            RUN_DATE,
        ]
    )
    expected = load_expected(landing)["days"][RUN_DATE]

    done = dags_test(airflow_env, root, RUN_DATE)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    assert "--master local[2]" in output

    run_id, states = dag_run_states(airflow_env, RUN_DATE)
    assert states == {task: "success" for task in TASKS}, states

    lake = query_lakehouse(airflow_env, root, RUN_DATE)
    runs = {row["job"]: row for row in lake["job_runs"]}
    assert sorted(runs) == sorted(JOBS), lake["job_runs"]
    for row in runs.values():
        # The DAG's --run-id {{ run_id }} reached the job.
        assert row["run_id"] == run_id, row
        assert row["rows_written"] > 0, row
    for job in ("ingest_catalog", "ingest_events"):
        row = runs[job]
        assert row["rows_in"] == row["rows_written"] + row["rows_quarantined"], row
    assert runs["ingest_catalog"]["rows_in"] == expected["catalog"]["rows"]
    assert runs["ingest_events"]["rows_in"] == expected["events"]["rows"]

    counts = lake["counts"]
    assert counts["content"] == expected["catalog_ids"], counts
    assert all(count > 0 for count in counts.values()), counts
    snapshots = root / "snapshots"
    assert snapshots.is_dir() and any(snapshots.iterdir()), "publish_index wrote no snapshot"


def test_failing_job_stops_downstream_tasks(airflow_env, tmp_path: Path) -> None:
    root = tmp_path / "broken_lakehouse"
    catalog = root / "landing" / "catalog" / f"date={BROKEN_DATE}"
    catalog.mkdir(parents=True)
    (tmp_path / "elsewhere.jsonl").write_text("{}\n")
    (catalog / "catalog.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")

    done = dags_test(airflow_env, root, BROKEN_DATE)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-5000:]
    assert "outside the landing root" in output

    _, states = dag_run_states(airflow_env, BROKEN_DATE)
    assert states["create_tables"] == "success", states
    assert states["ingest_catalog"] == "failed", states
    for job in JOBS[1:]:
        assert states[job] == "upstream_failed", states
