"""Driving the ``airflow`` CLI from tests: ``airflow dags test`` runs, their task states and
tries from the metadata DB, and a watcher that kills one job's Spark driver mid-run.

Used by tests/e2e/test_dag_run.py (the DAG's semantics on a ``local[2]`` master) and
tests/e2e/test_cluster_pipeline.py (the DAG driving the standalone cluster); the fixtures
that make an Airflow home and a metastore for them are in tests/e2e/conftest.py.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

DAG_ID = "contentlake_daily"
VENV_BIN = Path(sys.executable).parent
DAG_TEST_TIMEOUT_S = 2400


def spark_default_connection(master: str) -> str:
    """The ``spark_default`` connection as an ``AIRFLOW_CONN_SPARK_DEFAULT`` value: the Spark
    hook passes its host on as ``--master`` as is (``local[2]``, ``spark://host:port``)."""
    return json.dumps({"conn_type": "spark", "host": master})


def airflow_command() -> list[str]:
    script = VENV_BIN / "airflow"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "airflow"]


def run_logged(
    command: list[str],
    env: dict[str, str],
    timeout: int = 300,
    cwd: Path | None = None,
    watch: DriverKiller | None = None,
) -> subprocess.CompletedProcess:
    """``command`` run to its end (its output captured), its time and exit status printed."""
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


def last_json(stdout: str):
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


def metadata_db(env: dict[str, str]) -> Path:
    return Path(env["AIRFLOW_HOME"]) / "airflow.db"


def dags_test(
    env: dict[str, str],
    root: Path,
    run_date: str,
    *options: str,
    extra_env: dict[str, str] | None = None,
    watch: DriverKiller | None = None,
) -> subprocess.CompletedProcess:
    env = {**env, "CONTENTLAKE_ROOT": str(root), **(extra_env or {})}
    return run_logged(
        [*airflow_command(), "dags", "test", DAG_ID, run_date, *options],
        env,
        timeout=DAG_TEST_TIMEOUT_S,
        cwd=Path(env["AIRFLOW_HOME"]),
        watch=watch,
    )


def task_tries(env: dict[str, str], run_id: str) -> dict[str, list[tuple]]:
    """{task_id: [(try_number, state, start, end), ...]} of a run, every try oldest first:
    earlier tries from task_instance_history, the last from task_instance."""
    with sqlite3.connect(metadata_db(env)) as db:
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
    runs = last_json(
        run_logged([*airflow_command(), "dags", "list-runs", DAG_ID, "-o", "json"], env).stdout
    )
    matching = [run for run in runs if run["logical_date"].startswith(run_date)]
    assert len(matching) == 1, runs
    run_id = matching[0]["run_id"]
    done = run_logged(
        [*airflow_command(), "tasks", "states-for-dag-run", DAG_ID, run_id, "-o", "json"], env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return run_id, {row["task_id"]: row["state"] for row in last_json(done.stdout)}
