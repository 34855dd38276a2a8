"""The Airflow DAGs parse cleanly: the daily one wires one spark-submit per job in
dependency order, the weekly one submits maintain_tables.

Airflow is an optional extra (``pip install -e .[airflow]``): without it the module skips.
No database, scheduler or Spark is needed: the DAG folder is only parsed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("apache-airflow is not installed (optional extra)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "airflow_dags"
DAG_ID = "contentlake_daily"
MAINTENANCE_DAG_ID = "contentlake_maintenance"

EXPECTED_UPSTREAMS = {
    "create_tables": set(),
    "ingest_catalog": {"create_tables"},
    "ingest_events": {"ingest_catalog"},
    "build_features": {"ingest_events"},
    "embed_content": {"ingest_events"},
    "publish_index": {"embed_content"},
    "measure_drift": {"build_features", "publish_index"},
}


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    """Parse ``airflow_dags/`` with a throwaway AIRFLOW_HOME and a known lakehouse root."""
    airflow_home = tmp_path_factory.mktemp("airflow_home")
    root = tmp_path_factory.mktemp("lakehouse")
    with pytest.MonkeyPatch.context() as mp:
        # Airflow reads these when it is first imported, so they go in before the import.
        mp.setenv("AIRFLOW_HOME", str(airflow_home))
        mp.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        mp.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_FOLDER))
        mp.setenv("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
        mp.setenv("CONTENTLAKE_PROFILE", "local")
        mp.setenv("CONTENTLAKE_ROOT", str(root))
        mp.delenv("CONTENTLAKE_DAG_RETRIES", raising=False)
        mp.delenv("CONTENTLAKE_DAG_RETRY_DELAY_SECONDS", raising=False)
        pytest.importorskip("airflow")
        pytest.importorskip("airflow.providers.apache.spark")
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(DAGS_FOLDER), safe_mode=False)
        bag.test_root = root  # type: ignore[attr-defined]
        yield bag


@pytest.fixture(scope="module")
def dag(dagbag):
    assert DAG_ID in dagbag.dags, f"{DAG_ID} not found; parsed: {sorted(dagbag.dags)}"
    return dagbag.dags[DAG_ID]


def test_dag_folder_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dags) == [DAG_ID, MAINTENANCE_DAG_ID]


def test_schedule_and_run_settings(dag) -> None:
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    # The local profile shares one embedded Derby metastore: one Spark job at a time.
    assert dag.max_active_tasks == 1
    # Data-interval semantics: the run for day D has ds == D and starts once D is over.
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.timetable.expression == "0 0 * * *"
    assert "contentlake" in dag.tags
    assert dag.start_date is not None


def test_task_ids_and_edges(dag) -> None:
    assert set(dag.task_ids) == set(EXPECTED_UPSTREAMS)
    for task_id, upstreams in EXPECTED_UPSTREAMS.items():
        task = dag.get_task(task_id)
        assert set(task.upstream_task_ids) == upstreams, task_id
        downstreams = {job for job, ups in EXPECTED_UPSTREAMS.items() if task_id in ups}
        assert set(task.downstream_task_ids) == downstreams, task_id


def test_each_task_submits_its_job_for_the_logical_date(dagbag, dag) -> None:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    root = str(Path(dagbag.test_root).resolve())
    for task_id in EXPECTED_UPSTREAMS:
        task = dag.get_task(task_id)
        assert isinstance(task, SparkSubmitOperator), task_id
        assert task._conn_id == "spark_default"
        application = Path(task.application)
        assert application == REPO / "jobs" / f"{task_id}.py"
        assert application.is_file(), application

        args = list(task.application_args)
        assert args[args.index("--run-date") + 1] == "{{ ds }}"
        assert args[args.index("--run-id") + 1] == "{{ run_id }}"
        assert args[args.index("--profile") + 1] == "local"
        assert args[args.index("--root") + 1] == root
        assert task.env_vars == {"CONTENTLAKE_PROFILE": "local", "CONTENTLAKE_ROOT": root}

        # Delta and the Spark settings come from conf/, as for a manual spark-submit.
        assert "io.delta:delta-spark" in task.packages
        assert task.exclude_packages
        assert task.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
        assert task.conf["spark.sql.warehouse.dir"] == str(Path(root) / "warehouse")
        assert task.name == f"contentlake-{task_id}"


def test_retries_with_exponential_backoff(dag) -> None:
    for task in dag.tasks:
        assert task.retries == 2, task.task_id
        assert task.retry_exponential_backoff, task.task_id
        assert task.retry_delay.total_seconds() == 120, task.task_id
        assert task.execution_timeout is not None, task.task_id


@pytest.mark.parametrize("dag_file", ["contentlake_daily.py", "contentlake_maintenance.py"])
def test_dag_file_imports_no_spark_or_torch(tmp_path: Path, dag_file: str) -> None:
    """Parsing must stay cheap: the DAG processor re-imports the file every few minutes."""
    probe = (
        "import runpy, sys\n"
        f"runpy.run_path({str(DAGS_FOLDER / dag_file)!r})\n"
        "heavy = sorted(m for m in ('pyspark', 'torch', 'sentence_transformers', 'faiss')"
        " if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "CONTENTLAKE_PROFILE": "local",
        "CONTENTLAKE_ROOT": str(tmp_path / "lakehouse"),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def maintenance_dag(dagbag):
    return dagbag.dags[MAINTENANCE_DAG_ID]


def test_maintenance_runs_weekly_after_the_night_run(maintenance_dag) -> None:
    dag = maintenance_dag
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.timetable.expression == "0 12 * * 0"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.task_ids == ["maintain_tables"]


def test_the_maintenance_task_submits_maintain_tables_with_the_conf(
    dagbag, maintenance_dag
) -> None:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    root = str(Path(dagbag.test_root).resolve())
    task = maintenance_dag.get_task("maintain_tables")
    assert isinstance(task, SparkSubmitOperator)
    assert task._conn_id == "spark_default"
    assert Path(task.application) == REPO / "jobs" / "maintain_tables.py"
    args = list(task.application_args)
    assert args == [
        "--run-date",
        "{{ ds }}",
        "--run-id",
        "{{ run_id }}",
        "--profile",
        "local",
        "--root",
        root,
    ]
    assert task.env_vars == {"CONTENTLAKE_PROFILE": "local", "CONTENTLAKE_ROOT": root}
    assert "io.delta:delta-spark" in task.packages
    assert "io.openlineage:openlineage-spark" in task.packages
    assert task.conf["spark.sql.warehouse.dir"] == str(Path(root) / "warehouse")
    assert task.conf["spark.openlineage.transport.location"] == str(
        Path(root) / "lineage" / "events.jsonl"
    )
    assert task.retries == 2 and task.retry_exponential_backoff
