"""The weekly maintenance DAG parses cleanly and submits maintain_tables, like the daily one.

Airflow is an optional extra: without it the module skips (see test_dag_integrity.py).
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
DAG_ID = "contentlake_maintenance"


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    """``airflow_dags/`` parsed with a throwaway AIRFLOW_HOME and a known lakehouse root."""
    root = tmp_path_factory.mktemp("lakehouse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
        mp.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        mp.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS_FOLDER))
        mp.setenv("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
        mp.setenv("CONTENTLAKE_PROFILE", "local")
        mp.setenv("CONTENTLAKE_ROOT", str(root))
        mp.delenv("CONTENTLAKE_DAG_RETRIES", raising=False)
        mp.delenv("CONTENTLAKE_DAG_RETRY_DELAY_SECONDS", raising=False)
        pytest.importorskip("airflow.providers.apache.spark")
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(DAGS_FOLDER), safe_mode=False)
        bag.test_root = root  # type: ignore[attr-defined]
        yield bag


@pytest.fixture(scope="module")
def dag(dagbag):
    assert DAG_ID in dagbag.dags, f"{DAG_ID} not found; parsed: {sorted(dagbag.dags)}"
    return dagbag.dags[DAG_ID]


def test_weekly_after_the_night_run(dagbag, dag) -> None:
    assert dagbag.import_errors == {}
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.timetable.expression == "0 12 * * 0"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.task_ids == ["maintain_tables"]


def test_the_task_submits_maintain_tables_with_the_conf(dagbag, dag) -> None:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    root = str(Path(dagbag.test_root).resolve())
    task = dag.get_task("maintain_tables")
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


def test_dag_file_imports_no_spark(tmp_path: Path) -> None:
    probe = (
        "import runpy, sys\n"
        f"runpy.run_path({str(DAGS_FOLDER / 'contentlake_maintenance.py')!r})\n"
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
