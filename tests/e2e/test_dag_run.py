"""``airflow dags test contentlake_daily``, end to end, every job task a real ``spark-submit``.

Slow (several minutes: one spark-submit per task) and deselected by default; run with::

    python -m pytest -m slow tests/e2e/test_dag_run.py

Everything runs in subprocesses with a throwaway AIRFLOW_HOME (SQLite metadata DB) and a
throwaway lakehouse root per test. The tasks run as on a deployment: the ``cluster``
profile, the master from the ``spark_default`` connection, the shared PostgreSQL metastore
whose password comes from the Airflow connection ``contentlake_metastore`` (never from a
file or the command line), the drivers running the wheel's venv (``env_archive``) installed
outside the checkout. The connection names a ``local[2]`` master: what this module tests is
the DAG (its wiring, arguments, retries, sensor and backfill plan), and executors on a
standalone cluster would only add two JVMs per task to it (about half of each task's time
on two cores). Jobs on a real cluster, executors' Python shipped as an archive, are tested
in tests/integration/test_cluster_pipeline.py, where one application runs every job.

``airflow dags test`` honours retries (its loop schedules an ``up_for_retry`` task again once
its retry delay is over), so the good day's run also proves retries for real: a watcher
thread SIGKILLs ``ingest_events``' driver once, right after its first Delta commit, and the
run must end green with that task on its second try, its downstream tasks started after it,
and the day's rows counted once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import pytest
import yaml
from contentlake.jobs import DAILY_JOBS

from contentlake.standalone_cluster import SMALL_APPLICATION_CONF

pytestmark = pytest.mark.slow

if importlib.util.find_spec("airflow") is None:
    pytest.skip("apache-airflow is not installed (optional extra)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "contentlake_daily"
JOBS = DAILY_JOBS
TASKS = ("landing_ready", "create_tables", *JOBS)
RUN_DATE = "2026-11-01"
# This date's catalogue folder holds a link that leads outside the landing root:
# ingest_catalog refuses it with a clear message.
BROKEN_DATE = "2026-11-05"
# This date's files have landed but carry no completion marker: nothing may be ingested.
# Before the other dates, so no earlier run's ingest (depends_on_past) has a say.
UNMARKED_DATE = "2026-10-25"
# The task whose first try is killed mid-run, and the Delta table whose first commit says
# that it is mid-run (landed in bronze, nothing in silver yet).
RETRIED_JOB = "ingest_events"
RETRIED_JOB_TABLE = "bronze_events"
VENV_BIN = Path(sys.executable).parent
DAG_TEST_TIMEOUT_S = 1800


def _airflow() -> list[str]:
    script = VENV_BIN / "airflow"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "airflow"]


def _run(
    command: list[str],
    env: dict[str, str],
    timeout: int = 300,
    cwd: Path | None = None,
    watch: DriverKiller | None = None,
):
    started = time.monotonic()
    with subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        if watch is not None:
            watch.start_watching(process.pid)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            raise
        finally:
            if watch is not None:
                watch.stop()
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
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


class DriverKiller:
    """SIGKILLs one job's Spark driver (the Python process spark-submit starts for
    ``jobs/<job>.py``) once, as soon as the job has committed to ``table``: a crash in the
    middle of the job, after a partial write, as a lost node or an OOM kill would leave it.

    Only descendants of the watched ``airflow dags test`` process are looked at, so no
    other test's Spark job on the same machine is touched.
    """

    def __init__(self, job: str, table_log: Path) -> None:
        self.job = job
        self.table_log = table_log
        self.killed: dict[str, object] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_watching(self, pid: int) -> None:
        self._thread = threading.Thread(target=self._watch, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _commits(self) -> set[str]:
        return {p.name for p in self.table_log.glob("*.json")} if self.table_log.is_dir() else set()

    def _driver(self, parent):
        import psutil

        for child in parent.children(recursive=True):
            try:
                argv = child.cmdline()
            except psutil.Error:
                continue
            if (
                len(argv) > 1
                and Path(argv[0]).name.startswith("python")
                and argv[1].endswith(f"jobs/{self.job}.py")
            ):
                return child
        return None

    def _watch(self, pid: int) -> None:
        import psutil

        parent = psutil.Process(pid)
        driver, before = None, set()
        while not self._stop.wait(0.05):
            try:
                if driver is None:
                    driver = self._driver(parent)
                    # Commits made before this driver started are not its own.
                    before = self._commits()
                    continue
                if not driver.is_running():
                    return  # finished before its first commit: nothing killed
                new = self._commits() - before
                if new:
                    driver.send_signal(signal.SIGKILL)
                    self.killed = {"pid": driver.pid, "after_commits": sorted(new)}
                    return
            except psutil.Error:
                driver = None


@pytest.fixture(scope="module")
def spark_master() -> str:
    """The master the ``spark_default`` connection names (the hook passes the host on as
    ``--master``)."""
    return "local[2]"


@pytest.fixture(scope="module")
def metastore_server():
    """A local PostgreSQL metastore for the module: (port, password, its folder). Its data
    lives outside pytest's tmp folder (0700), since the server runs as its own user."""
    from contentlake.config import load_config
    from contentlake.metastore import INSTALL_HINT, down, metastore_password, server_available, up

    if not server_available():
        pytest.skip(f"PostgreSQL server binaries not installed: {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="contentlake-dag-metastore-"))
    root.chmod(0o755)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metastore = {"kind": "postgres", "postgres": {"port": port}}
    cfg = load_config("cluster", root=root, overrides={"metastore": metastore})
    up(cfg)
    try:
        yield port, metastore_password(cfg), cfg.paths.metastore
    finally:
        down(cfg)
        shutil.rmtree(root, ignore_errors=True)


def site_conf(
    folder: Path, tiny_model_conf: Path, env_archive, metastore_server, database: str
) -> Path:
    """The ``$CONTENTLAKE_CONF`` overlay of one test: the tiny models, its own database on the
    shared metastore (whose folder holds the JDBC driver for the driver's class path), a
    small application's settings, and the wheel's venv as the Python of the driver and its
    workers (no archive to unpack per task)."""
    port, _, metastore_folder = metastore_server
    overlay = yaml.safe_load(tiny_model_conf.read_text())
    overlay.update(
        {
            "database": database,
            "paths": {"metastore": str(metastore_folder)},
            "metastore": {"postgres": {"port": port}},
            "spark": {
                "env_archive": "",
                "conf": {**SMALL_APPLICATION_CONF, "spark.pyspark.python": str(env_archive.python)},
            },
        }
    )
    path = folder / f"{database}.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return path


def _metadata_db(env: dict[str, str]) -> Path:
    return Path(env["AIRFLOW_HOME"]) / "airflow.db"


@pytest.fixture(scope="module")
def airflow_env(
    tmp_path_factory: pytest.TempPathFactory, spark_master: str, metastore_server
) -> dict[str, str]:
    """Environment for the ``airflow`` CLI: fresh metadata DB, the Spark master, no retries."""
    if not (VENV_BIN / "spark-submit").is_file():
        pytest.skip(f"no spark-submit next to {sys.executable}")
    pytest.importorskip("psutil")  # Airflow's own dependency; the DriverKiller uses it
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
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            # Host is the master URL as is: the Spark hook passes it on as --master.
            "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": spark_master}),
            # spark-submit must be the venv's (pyspark 4.1.3), and so must every python.
            "PATH": os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
            "CONTENTLAKE_PROFILE": "cluster",
            "CONTENTLAKE_METASTORE": "postgres",
            # The password reaches the jobs from this connection only.
            "AIRFLOW_CONN_CONTENTLAKE_METASTORE": json.dumps(
                {"conn_type": "postgres", "password": metastore_server[1]}
            ),
            # The driver binds to loopback, as in every other test.
            "SPARK_LOCAL_IP": "127.0.0.1",
            # A failing job fails its task at once instead of waiting out the backoff.
            "CONTENTLAKE_DAG_RETRIES": "0",
            "CONTENTLAKE_DAG_RETRY_DELAY_SECONDS": "1",
            # Every test marks its days complete (or means not to): a missing marker fails
            # the landing sensor within seconds instead of hours.
            "CONTENTLAKE_LANDING_POKE_SECONDS": "1",
            "CONTENTLAKE_LANDING_TIMEOUT_SECONDS": "4",
            "PYTHONUNBUFFERED": "1",
        }
    )
    done = _run([*_airflow(), "db", "migrate"], env, cwd=airflow_home)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


@pytest.fixture(scope="module")
def lakehouse(tmp_path_factory, tiny_model_conf, env_archive, metastore_server):
    """``lakehouse(database)``: the extra environment of a DAG run whose tables live in
    ``database`` on the shared metastore (each test its own)."""
    folder = tmp_path_factory.mktemp("site-conf")

    def extra_env(database: str) -> dict[str, str]:
        conf = site_conf(folder, tiny_model_conf, env_archive, metastore_server, database)
        return {"CONTENTLAKE_CONF": str(conf)}

    return extra_env


def dags_test(
    env: dict[str, str],
    root: Path,
    run_date: str,
    *options: str,
    extra_env: dict[str, str] | None = None,
    watch: DriverKiller | None = None,
) -> subprocess.CompletedProcess:
    env = {**env, "CONTENTLAKE_ROOT": str(root), **(extra_env or {})}
    return _run(
        [*_airflow(), "dags", "test", DAG_ID, run_date, *options],
        env,
        timeout=DAG_TEST_TIMEOUT_S,
        cwd=Path(env["AIRFLOW_HOME"]),
        watch=watch,
    )


def task_tries(env: dict[str, str], run_id: str) -> dict[str, list[tuple]]:
    """{task_id: [(try_number, state, start, end), ...]} of a run, every try oldest first:
    earlier tries from task_instance_history, the last from task_instance."""
    with sqlite3.connect(_metadata_db(env)) as db:
        rows = db.execute(
            "select task_id, try_number, state, start_date, end_date from task_instance_history"
            " where dag_id = ? and run_id = ?"
            " union all "
            "select task_id, try_number, state, start_date, end_date from task_instance"
            " where dag_id = ? and run_id = ?",
            (DAG_ID, run_id, DAG_ID, run_id),
        ).fetchall()
    tries: dict[str, list[tuple]] = {}
    for task_id, *attempt in sorted(rows, key=lambda row: (row[0], row[1])):
        tries.setdefault(task_id, []).append(tuple(attempt))
    return tries


def mark_day_complete(landing: Path, run_date: str) -> None:
    from contentlake.landing_ready import LANDING_SOURCES, mark_complete

    for source in LANDING_SOURCES:
        mark_complete(landing, source, date.fromisoformat(run_date))


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

root, run_date, database, port, metastore_folder = sys.argv[1:6]
cfg = load_config(profile="local", root=root, overrides={
    "database": database, "paths": {"metastore": metastore_folder},
    "metastore": {"kind": "postgres", "postgres": {"port": int(port)}}})
spark = build_spark(cfg)
try:
    spark.catalog.setCurrentDatabase(cfg.database)
    counts = {
        table: spark.table(table).count()
        for table in ("content", "events", "content_daily_features", "content_embeddings")
    }
    runs = [
        row.asDict()
        for row in spark.table("job_runs").where(f"run_date = date'{run_date}'").collect()
    ]
    attempts = {
        row.job: row["count"]
        for row in spark.table("job_run_attempts")
        .where(f"run_date = date'{run_date}'")
        .groupBy("job")
        .count()
        .collect()
    }
finally:
    spark.stop()
print(json.dumps({"counts": counts, "job_runs": runs, "attempts": attempts}, default=str))
"""


def query_lakehouse(
    env: dict[str, str], root: Path, run_date: str, database: str, metastore_server
) -> dict:
    """Table counts and job_runs rows, read by name through the shared metastore by a local
    Spark driver after the DAG run."""
    port, password, metastore_folder = metastore_server
    done = _run(
        [sys.executable, "-c", QUERY_LAKEHOUSE, str(root), run_date, database, str(port),
         str(metastore_folder)],
        {**env, "CONTENTLAKE_ROOT": str(root), "CONTENTLAKE_METASTORE_PASSWORD": password},
        timeout=600,
        cwd=root,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return _last_json(done.stdout)


def test_daily_dag_runs_every_job_and_retries_a_killed_one(
    airflow_env, lakehouse, metastore_server, spark_master: str, tmp_path: Path
) -> None:
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
            # A few posters and videos, so every job of the DAG has rows to write: the
            # keyframes are decoded and the images embedded on the workers.
            "--media-items",
            "6",
            "--start-date",
            RUN_DATE,
        ]
    )
    expected = load_expected(landing)["days"][RUN_DATE]

    database = "dag_good_day"
    killer = DriverKiller(
        RETRIED_JOB, root / "warehouse" / f"{database}.db" / RETRIED_JOB_TABLE / "_delta_log"
    )
    done = dags_test(
        airflow_env,
        root,
        RUN_DATE,
        extra_env={**lakehouse(database), "CONTENTLAKE_DAG_RETRIES": "1"},
        watch=killer,
    )
    output = done.stdout + done.stderr
    run_id, states = dag_run_states(airflow_env, RUN_DATE)
    tries = task_tries(airflow_env, run_id)
    print("killed:", killer.killed, "tries:", tries)
    # The retry first: it is this run's point, and holds whatever a later task does.
    assert killer.killed is not None, (
        f"{RETRIED_JOB} ended before its first commit: {tries}\n{output[-6000:]}"
    )
    assert [(n, state) for n, state, *_ in tries[RETRIED_JOB]] == [(1, "failed"), (2, "success")]
    assert done.returncode == 0, output[-8000:]
    assert f"--master {spark_master}" in output
    assert states == {task: "success" for task in TASKS}, states

    # Every other task ran once.
    for task in TASKS:
        if task != RETRIED_JOB:
            assert [(n, state) for n, state, *_ in tries[task]] == [(1, "success")], task
    # Downstream tasks waited for the retry: none started before it had succeeded.
    retried_end = tries[RETRIED_JOB][-1][3]
    for task in ("build_features", "embed_content"):
        assert tries[task][0][2] >= retried_end, (task, tries[task], retried_end)

    lake = query_lakehouse(airflow_env, root, RUN_DATE, database, metastore_server)
    runs = {row["job"]: row for row in lake["job_runs"]}
    assert sorted(runs) == sorted(JOBS), lake["job_runs"]
    for row in runs.values():
        # The DAG's --run-id {{ run_id }} reached the job.
        assert row["run_id"] == run_id, row
        assert row["rows_written"] > 0, row
    for job in ("ingest_catalog", "ingest_events"):
        row = runs[job]
        assert row["rows_in"] == row["rows_written"] + row["rows_quarantined"], row
    # The rerun after the kill counted the day's rows once, though the killed try had
    # already landed them in bronze; and the killed try recorded no attempt.
    assert runs["ingest_catalog"]["rows_in"] == expected["catalog"]["rows"]
    assert runs["ingest_events"]["rows_in"] == expected["events"]["rows"]
    assert lake["attempts"] == {job: 1 for job in JOBS}, lake["attempts"]

    counts = lake["counts"]
    assert counts["content"] == expected["catalog_ids"], counts
    assert all(count > 0 for count in counts.values()), counts
    snapshots = root / "snapshots"
    assert snapshots.is_dir() and any(snapshots.iterdir()), "publish_index wrote no snapshot"


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
    serialized = _run([*_airflow(), "dags", "reserialize"], airflow_env)
    assert serialized.returncode == 0, serialized.stderr[-3000:]
    command = [
        *_airflow(), "backfill", "create", "--dag-id", DAG_ID,
        "--from-date", "2026-10-01", "--to-date", "2026-10-03",
        "--max-active-runs", "1", "--reprocess-behavior", "failed", "--dry-run",
    ]  # fmt: skip
    done = _run(command, airflow_env, cwd=Path(airflow_env["AIRFLOW_HOME"]))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    planned = [line for line in done.stdout.splitlines() if line.startswith("| 20")]
    assert [line.split("|")[1].strip() for line in planned] == [
        "2026-10-01 00:00:00+00:00",
        "2026-10-02 00:00:00+00:00",
        "2026-10-03 00:00:00+00:00",
    ], done.stdout[-3000:]
    assert "max_active_runs = 1" in done.stdout

    backwards = _run(
        [*command, "--run-backwards"], airflow_env, cwd=Path(airflow_env["AIRFLOW_HOME"])
    )
    assert backwards.returncode != 0
    assert "cannot be run in reverse" in backwards.stdout + backwards.stderr
