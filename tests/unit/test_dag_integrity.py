"""The Airflow DAGs parse cleanly: the daily one waits for the landing day and wires one
spark-submit per job in dependency order, the weekly one submits maintain_tables; every
machine-dependent value (root, interpreter, conf, password) is resolved when a task runs.

Airflow is an optional extra (``pip install -e .[airflow]``): without it the module skips.
No database, scheduler or Spark is needed: the DAG folder is parsed, and tasks resolve their
spark-submit call (``resolve_on_worker``) or poke without running anything.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("apache-airflow is not installed (optional extra)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "airflow_dags"
DAG_ID = "contentlake_daily"
MAINTENANCE_DAG_ID = "contentlake_maintenance"

JOBS = (
    "create_tables",
    "ingest_catalog",
    "extract_keyframes",
    "ingest_events",
    "build_features",
    "embed_content",
    "embed_media",
    "embed_behaviour",
    "fuse_vectors",
    "resolve_entities",
    "publish_index",
    "measure_drift",
)
EXPECTED_UPSTREAMS = {
    "landing_ready": set(),
    "create_tables": set(),
    "ingest_catalog": {"create_tables", "landing_ready"},
    "ingest_events": {"ingest_catalog"},
    "build_features": {"ingest_events"},
    "embed_content": {"ingest_events"},
    "extract_keyframes": {"ingest_catalog"},
    "embed_media": {"extract_keyframes"},
    "embed_behaviour": {"ingest_events"},
    "fuse_vectors": {"embed_content", "embed_media", "embed_behaviour"},
    "resolve_entities": {"fuse_vectors", "build_features"},
    "publish_index": {"resolve_entities"},
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
        for name in (
            "CONTENTLAKE_DAG_RETRIES",
            "CONTENTLAKE_DAG_RETRY_DELAY_SECONDS",
            "CONTENTLAKE_DAG_MAX_ACTIVE_TASKS",
            "CONTENTLAKE_LANDING_POKE_SECONDS",
            "CONTENTLAKE_LANDING_TIMEOUT_SECONDS",
            "CONTENTLAKE_METASTORE",
            "CONTENTLAKE_METASTORE_PASSWORD",
        ):
            mp.delenv(name, raising=False)
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


def test_parsed_tasks_hold_only_the_job_and_the_templated_date(dag) -> None:
    """Nothing of the parsing machine is frozen into a task: no path, no interpreter."""
    from contentlake.airflow_tasks import ContentlakeJobOperator

    for job in JOBS:
        task = dag.get_task(job)
        assert isinstance(task, ContentlakeJobOperator), job
        assert (task.job, task._conn_id, task.name) == (job, "spark_default", f"contentlake-{job}")
        assert task.application_args == ["--run-date", "{{ ds }}", "--run-id", "{{ run_id }}"]
        assert (task.application, task.conf, task.packages, task.env_vars) == ("", None, None, None)


@pytest.fixture()
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The worker's environment differs from the parser's: another lakehouse root."""
    root = tmp_path / "worker_lakehouse"
    monkeypatch.setenv("CONTENTLAKE_ROOT", str(root))
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", '{"conn_type": "spark", "host": "local[2]"}')
    return root.resolve()


def _resolved(dag, task_id: str):
    """A try's copy of the task, as the Task SDK runs it, with its call resolved."""
    task = copy.copy(dag.get_task(task_id))
    task.resolve_on_worker()
    return task


def test_each_task_submits_its_job_with_the_workers_configuration(dagbag, dag, worker) -> None:
    assert worker != Path(dagbag.test_root).resolve()
    for job in JOBS:
        task = _resolved(dag, job)
        application = Path(task.application)
        assert application == REPO / "jobs" / f"{job}.py"
        assert application.is_file(), application
        assert task.application_args == [
            "--run-date", "{{ ds }}", "--run-id", "{{ run_id }}",
            "--profile", "local", "--root", str(worker),
        ]  # fmt: skip
        assert task.env_vars == {
            "CONTENTLAKE_PROFILE": "local",
            "CONTENTLAKE_ROOT": str(worker),
            "CONTENTLAKE_METASTORE": "derby",
        }
        # Delta and the Spark settings come from conf/, as for a manual spark-submit.
        assert "io.delta:delta-spark" in task.packages
        assert task.exclude_packages
        assert task.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
        assert task.conf["spark.sql.warehouse.dir"] == str(worker / "warehouse")
        # Executors of the local profile run the worker's own interpreter.
        assert task.conf["spark.pyspark.python"] == sys.executable
        # The parsed task is left as it was, for the next try.
        assert dag.get_task(job).application_args == task.application_args[:4]


def test_the_master_comes_from_the_spark_connection(dag, worker, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_DEFAULT", '{"conn_type": "spark", "host": "spark://127.0.0.1:7077"}'
    )
    task = _resolved(dag, "ingest_events")
    command = task._get_hook()._build_spark_submit_command(task.application)
    assert command[:3] == ["spark-submit", "--master", "spark://127.0.0.1:7077"]
    assert command[-9:] == [
        str(REPO / "jobs" / "ingest_events.py"),
        "--run-date", "{{ ds }}", "--run-id", "{{ run_id }}",
        "--profile", "local", "--root", str(worker),
    ]  # fmt: skip


SENTINEL = "n0t-0n-the-c0mmand-line"


def _metastore_connection(monkeypatch, **fields) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_CONTENTLAKE_METASTORE",
        json.dumps({"conn_type": "postgres", "password": SENTINEL, **fields}),
    )


def test_the_metastore_password_travels_in_the_environment_only(dag, worker, monkeypatch):
    monkeypatch.setenv("CONTENTLAKE_METASTORE", "postgres")
    _metastore_connection(monkeypatch, login="contentlake", host="localhost", port=5433)
    task = _resolved(dag, "ingest_events")
    hook = task._get_hook()
    command = hook._build_spark_submit_command(task.application)
    assert task.conf["spark.hadoop.javax.jdo.option.ConnectionUserName"] == "contentlake"
    assert SENTINEL not in " ".join(command)
    # Handed to spark-submit's process with the worker's environment.
    assert hook._env["CONTENTLAKE_METASTORE_PASSWORD"] == SENTINEL
    assert hook._env["CONTENTLAKE_METASTORE"] == "postgres"


def test_on_yarn_the_password_setting_is_masked_in_the_log(dag, worker, monkeypatch) -> None:
    monkeypatch.setenv("CONTENTLAKE_METASTORE", "postgres")
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", '{"conn_type": "spark", "host": "yarn"}')
    _metastore_connection(monkeypatch)
    task = _resolved(dag, "ingest_events")
    hook = task._get_hook()
    command = hook._build_spark_submit_command(task.application)
    # YARN needs the driver's environment as settings; the provider's log line masks them.
    assert f"spark.yarn.appMasterEnv.CONTENTLAKE_METASTORE_PASSWORD={SENTINEL}" in command
    logged = hook._mask_cmd(command)
    assert SENTINEL not in logged
    assert "spark.yarn.appMasterEnv.CONTENTLAKE_METASTORE_PASSWORD=******" in logged


def test_the_workers_environment_wins_over_the_connection(worker, monkeypatch) -> None:
    from contentlake.airflow_tasks import metastore_password
    from contentlake.dag_settings import runtime_config

    _metastore_connection(monkeypatch)
    # Derby needs no password: the connection is not even read.
    assert metastore_password(runtime_config()) is None
    monkeypatch.setenv("CONTENTLAKE_METASTORE", "postgres")
    assert metastore_password(runtime_config()) == SENTINEL
    monkeypatch.setenv("CONTENTLAKE_METASTORE_PASSWORD", "from-the-secret-store")
    assert metastore_password(runtime_config()) == "from-the-secret-store"


def test_a_connection_to_another_metastore_is_refused(worker, monkeypatch) -> None:
    from contentlake.airflow_tasks import MetastoreConnectionMismatch, metastore_password
    from contentlake.dag_settings import runtime_config

    monkeypatch.setenv("CONTENTLAKE_METASTORE", "postgres")
    _metastore_connection(monkeypatch, host="db.elsewhere", port=5433)
    with pytest.raises(MetastoreConnectionMismatch, match="host 'db.elsewhere'"):
        metastore_password(runtime_config())


def test_no_password_anywhere_leaves_it_to_the_job(worker, monkeypatch) -> None:
    from contentlake.airflow_tasks import metastore_password
    from contentlake.dag_settings import runtime_config

    monkeypatch.setenv("CONTENTLAKE_METASTORE", "postgres")
    monkeypatch.delenv("AIRFLOW_CONN_CONTENTLAKE_METASTORE", raising=False)
    assert metastore_password(runtime_config()) is None


def test_the_landing_sensor_waits_in_reschedule_mode(dag) -> None:
    sensor = dag.get_task("landing_ready")
    assert sensor.mode == "reschedule"
    assert (sensor.poke_interval, sensor.timeout, sensor.retries) == (300, 6 * 3600, 0)
    assert set(sensor.downstream_task_ids) == {"ingest_catalog"}


def test_the_landing_sensor_pokes_the_workers_landing_folder(dag, worker) -> None:
    from contentlake.landing_ready import mark_complete

    sensor = dag.get_task("landing_ready")
    context = {"ds": "2026-11-01"}
    assert sensor.poke(context) is False
    mark_complete(worker / "landing", "catalog", date(2026, 11, 1))
    assert sensor.poke(context) is False
    mark_complete(worker / "landing", "events", date(2026, 11, 1))
    assert sensor.poke(context) is True


def test_job_tasks_retry_with_exponential_backoff(dag) -> None:
    for job in JOBS:
        task = dag.get_task(job)
        assert task.retries == 2, job
        assert task.retry_exponential_backoff, job
        assert task.retry_delay.total_seconds() == 120, job
        assert task.execution_timeout is not None, job


def test_days_are_ingested_in_order(dag) -> None:
    """A backfill runs its dates one at a time (max_active_runs, and --max-active-runs 1 for
    the backfill itself), and an ingest waits for the previous date's (depends_on_past),
    which also makes Airflow refuse a backfill that runs backwards."""
    assert dag.max_active_runs == 1
    ordered = {task.task_id for task in dag.tasks if task.depends_on_past}
    assert ordered == {"ingest_catalog", "ingest_events"}


@pytest.mark.parametrize("dag_file", ["contentlake_daily.py", "contentlake_maintenance.py"])
def test_dag_file_imports_no_spark_or_torch(tmp_path: Path, dag_file: str) -> None:
    """Parsing must stay cheap: the DAG processor re-imports the file every few minutes."""
    probe = (
        "import runpy, sys\n"
        f"runpy.run_path({str(DAGS_FOLDER / dag_file)!r})\n"
        "heavy = sorted(m for m in ('pyspark', 'torch', 'sentence_transformers', 'faiss',"
        " 'pyarrow', 'contentlake.config') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "CONTENTLAKE_PROFILE": "local",
        "CONTENTLAKE_ROOT": str(tmp_path / "lakehouse"),
    }
    # Neither conf/ nor a lakehouse path is read when the file is parsed: the configuration
    # is only loaded by a running task (contentlake.dag_settings.runtime_config).
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
    maintenance_dag, worker
) -> None:
    from contentlake.airflow_tasks import ContentlakeJobOperator

    task = _resolved(maintenance_dag, "maintain_tables")
    assert isinstance(task, ContentlakeJobOperator)
    assert task._conn_id == "spark_default"
    assert Path(task.application) == REPO / "jobs" / "maintain_tables.py"
    assert task.application_args == [
        "--run-date", "{{ ds }}", "--run-id", "{{ run_id }}",
        "--profile", "local", "--root", str(worker),
    ]  # fmt: skip
    assert task.env_vars["CONTENTLAKE_ROOT"] == str(worker)
    assert "io.delta:delta-spark" in task.packages
    assert "io.openlineage:openlineage-spark" in task.packages
    assert task.conf["spark.sql.warehouse.dir"] == str(worker / "warehouse")
    assert task.conf["spark.openlineage.transport.location"] == str(
        worker / "lineage" / "events.jsonl"
    )
    assert task.retries == 2 and task.retry_exponential_backoff
