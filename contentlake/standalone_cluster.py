"""A Spark standalone cluster on loopback: one master and N workers, from pyspark's own jars.

    python -m contentlake.standalone_cluster up --workers 2 --dir build/standalone
    python -m contentlake.standalone_cluster status --dir build/standalone
    python -m contentlake.standalone_cluster down --dir build/standalone

(``make cluster-up`` / ``make cluster-down``.) The processes are the ones a real standalone
deployment runs (``spark-class org.apache.spark.deploy.master.Master`` and ``...Worker``),
with ``SPARK_HOME`` the installed pyspark package, bound to 127.0.0.1 on free ports. Each
worker has its own work directory, one core and modest memory, so an application with two
executors really spans two worker processes. ``up`` returns once every worker is ALIVE in
the master's ``/json`` and writes ``cluster.json`` (master URL, pids, work directories)
into the state directory; ``down`` stops what that file names.

Workers start without the project's virtualenv on ``PATH`` (and without ``PYTHONPATH`` or
``PYSPARK_PYTHON``): an executor whose Python was not shipped to it fails instead of
quietly borrowing the driver's interpreter.

Every executor unpacks the environment archive (~2 GB) into its folder of the worker's
work directory. Spark's own cleanup (``spark.worker.cleanup.*``, on) deletes a finished
application's folders only after a retention time, logs and all. So ``up`` also starts a
small pruner that, every few seconds, empties the executor folders of applications the
master lists as completed, except their ``stdout``/``stderr``: the disk is freed as soon as
an application ends and its logs stay readable until Spark's cleanup removes them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from contentlake.spark_settings import SHORT_LIVED_JVM_OPTIONS

STATE_FILE = "cluster.json"
HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 30
PRUNE_INTERVAL_S = 5
# What the pruner leaves in an executor's folder: the logs.
EXECUTOR_LOGS = ("stdout", "stderr")
# An application's share of the default test cluster (workers of one core and 2 GB): the
# cluster profile's own sizes (400 shuffle partitions, 8 GB executors) are for a real one.
SMALL_APPLICATION_CONF = {
    "spark.executor.cores": "1",
    "spark.executor.memory": "1g",
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # Its JVMs live for seconds: C1 alone (see SHORT_LIVED_JVM_OPTIONS) took a spark-submit
    # of create_tables and of ingest_catalog (60 items, this cluster) from 27 + 50 s to
    # 16 + 25 s.
    "spark.driver.extraJavaOptions": SHORT_LIVED_JVM_OPTIONS,
    "spark.executor.extraJavaOptions": SHORT_LIVED_JVM_OPTIONS,
}
# Spark's cleanup of finished applications' folders (logs included): checked hourly, kept
# for a day.
CLEANUP_INTERVAL_S = 3600
APP_DATA_TTL_S = 86400
# Inherited settings that would let an executor find a Python that was not shipped to it.
_PYTHON_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYSPARK_PYTHON",
                     "PYSPARK_DRIVER_PYTHON", "SPARK_HOME", "SPARK_CONF_DIR")


class ClusterError(RuntimeError):
    """The cluster did not start, or its state file names no running cluster."""


@dataclass(frozen=True)
class ClusterState:
    """What ``up`` wrote to ``cluster.json``: enough to use the cluster and to stop it."""

    master_url: str
    web_ui: str
    spark_home: str
    master_pid: int
    worker_pids: list[int]
    work_dirs: list[str]
    pruner_pid: int | None
    state_dir: str

    @property
    def pids(self) -> list[int]:
        return [*self.worker_pids, self.master_pid, *([self.pruner_pid] if self.pruner_pid else [])]


def spark_home() -> Path:
    """The installed pyspark package: its bin/spark-class and jars/ are a whole Spark."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("pyspark is not installed: pip install 'contentlake[pipeline]'")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def daemon_environment(home: Path, local_dir: Path | None = None) -> dict[str, str]:
    """The environment of a master or worker: no trace of this process's Python (see the
    module docstring), Spark's home, loopback, and the worker's scratch folder."""
    env = {k: v for k, v in os.environ.items() if k not in _PYTHON_VARIABLES}
    venv_bins = {str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)}
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if part not in venv_bins
    )
    env.update({"SPARK_HOME": str(home), "SPARK_LOCAL_IP": HOST, "SPARK_NO_DAEMONIZE": "1"})
    if local_dir is not None:
        # Executors' scratch space and fetch cache (a copy of the archive per application):
        # inside the state directory, removed by the worker when the application ends.
        env["SPARK_LOCAL_DIRS"] = str(local_dir)
        env["SPARK_WORKER_OPTS"] = " ".join(
            [
                "-Dspark.worker.cleanup.enabled=true",
                f"-Dspark.worker.cleanup.interval={CLEANUP_INTERVAL_S}",
                f"-Dspark.worker.cleanup.appDataTtl={APP_DATA_TTL_S}",
            ]
        )
    return env


def _start(command: list[str], env: dict[str, str], log: Path) -> int:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=log.parent,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group: `down` signals the group, and a Ctrl-C in the shell
            # that ran `up` does not reach the daemons.
            start_new_session=True,
        )
    return process.pid


def master_json(web_ui: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(f"{web_ui}/json", timeout=timeout) as response:
        return json.load(response)


def up(state_dir: Path, workers: int = 2, cores: int = 1, memory: str = "2g") -> ClusterState:
    """Start a master and ``workers`` workers (unless ``state_dir`` names a running
    cluster, which is returned as it is) and wait until every worker is ALIVE."""
    state_dir = state_dir.resolve()
    running = read_state(state_dir)
    if running is not None and all(_alive(pid) for pid in running.pids):
        return running
    if running is not None:
        down(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    home = spark_home()
    spark_class = str(home / "bin" / "spark-class")
    port, ui_port = free_port(), free_port()
    master_url, web_ui = f"spark://{HOST}:{port}", f"http://{HOST}:{ui_port}"
    master_pid = _start(
        [spark_class, MASTER_CLASS, "--host", HOST, "--port", str(port),
         "--webui-port", str(ui_port)],
        daemon_environment(home),
        state_dir / "master.log",
    )
    worker_pids, work_dirs = [], []
    for index in range(1, workers + 1):
        worker_dir = state_dir / f"worker-{index}"
        work_dir, local_dir = worker_dir / "work", worker_dir / "local"
        work_dir.mkdir(parents=True, exist_ok=True)
        local_dir.mkdir(parents=True, exist_ok=True)
        worker_pids.append(
            _start(
                [spark_class, WORKER_CLASS, "--host", HOST, "--port", str(free_port()),
                 "--webui-port", str(free_port()), "--cores", str(cores), "--memory", memory,
                 "--work-dir", str(work_dir), master_url],
                daemon_environment(home, local_dir),
                worker_dir / "worker.log",
            )
        )
        work_dirs.append(str(work_dir))
    state = ClusterState(
        master_url=master_url,
        web_ui=web_ui,
        spark_home=str(home),
        master_pid=master_pid,
        worker_pids=worker_pids,
        work_dirs=work_dirs,
        pruner_pid=None,
        state_dir=str(state_dir),
    )
    _write_state(state)  # before waiting: a failed start can still be stopped with `down`
    try:
        _wait_for_workers(state, workers)
    except ClusterError:
        down(state_dir)
        raise
    pruner_pid = _start(
        [sys.executable, "-m", "contentlake.standalone_cluster", "prune-loop",
         "--dir", str(state_dir)],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
        state_dir / "pruner.log",
    )
    state = ClusterState(**{**asdict(state), "pruner_pid": pruner_pid})
    _write_state(state)
    return state


def _wait_for_workers(state: ClusterState, workers: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    alive = 0
    while time.monotonic() < deadline:
        dead = [pid for pid in (state.master_pid, *state.worker_pids) if not _alive(pid)]
        if dead:
            raise ClusterError(f"process {dead} exited while starting:\n{_log_tails(state)}")
        try:
            alive = sum(w["state"] == "ALIVE" for w in master_json(state.web_ui)["workers"])
        except (OSError, ValueError, KeyError):
            alive = 0  # the master's web UI is not up yet
        if alive == workers:
            return
        time.sleep(1)
    raise ClusterError(
        f"{alive} of {workers} workers ALIVE after {START_TIMEOUT_S}s:\n{_log_tails(state)}"
    )


def _log_tails(state: ClusterState) -> str:
    logs = [Path(state.state_dir) / "master.log"]
    logs += [Path(d).parent / "worker.log" for d in state.work_dirs]
    return "\n".join(
        f"--- {log}\n{log.read_text(errors='replace')[-2000:]}" for log in logs if log.is_file()
    )


def down(state_dir: Path) -> bool:
    """Stop the pruner, the workers (which stop their executors) and then the master;
    False when no state file was there. The state file goes last."""
    state_dir = state_dir.resolve()
    state = read_state(state_dir)
    if state is None:
        return False
    groups = [[state.pruner_pid] if state.pruner_pid else [], state.worker_pids, [state.master_pid]]
    for pids in groups:
        for pid in pids:
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids:
            if _alive(pid):
                _signal_group(pid, signal.SIGKILL)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return True


def status(state_dir: Path) -> dict:
    """The state file and the master's view of its workers and applications."""
    state = read_state(state_dir.resolve())
    if state is None:
        raise ClusterError(f"no {STATE_FILE} in {state_dir}: start one with `up`")
    answer = master_json(state.web_ui)
    return {
        **asdict(state),
        "workers": [{"id": w["id"], "state": w["state"]} for w in answer["workers"]],
        "activeapps": [a["id"] for a in answer.get("activeapps", [])],
        "completedapps": [a["id"] for a in answer.get("completedapps", [])],
    }


def prune(state: ClusterState) -> list[Path]:
    """Empty the executor folders of completed applications, logs aside; returns what was
    removed. The folders are listed before the master is asked, so an application that
    started in between cannot be mistaken for a completed one."""
    app_dirs = [app for work in state.work_dirs for app in Path(work).glob("app-*")]
    completed = {app["id"] for app in master_json(state.web_ui).get("completedapps", [])}
    removed = []
    for app_dir in app_dirs:
        if app_dir.name not in completed:
            continue
        for executor_dir in (d for d in app_dir.iterdir() if d.is_dir()):
            for entry in executor_dir.iterdir():
                if entry.name in EXECUTOR_LOGS:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def prune_loop(state_dir: Path) -> None:
    """:func:`prune` every few seconds while the master runs."""
    state = read_state(state_dir.resolve())
    while state is not None and _alive(state.master_pid):
        try:
            for entry in prune(state):
                print(f"pruned {entry}", flush=True)
        except (OSError, ValueError) as error:  # master busy or going down: next round
            print(f"prune skipped: {error}", flush=True)
        time.sleep(PRUNE_INTERVAL_S)


def read_state(state_dir: Path) -> ClusterState | None:
    path = state_dir / STATE_FILE
    if not path.is_file():
        return None
    return ClusterState(**json.loads(path.read_text()))


def _write_state(state: ClusterState) -> None:
    path = Path(state.state_dir) / STATE_FILE
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(partial, path)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps it when it is our own child
        if waited == pid:
            return False
    except ChildProcessError:
        pass  # started by another process (`up` ran earlier): signal 0 tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return _process_state(pid) != "Z"


def _process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Each daemon leads its own process group (``start_new_session``), which holds the
    worker's executors too."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status", "prune-loop"))
    parser.add_argument("--dir", type=Path, default=Path("build/standalone"),
                        help="state directory: logs, work directories, cluster.json")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="cores per worker")
    parser.add_argument("--memory", default="2g", help="memory per worker for executors")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            state = up(args.dir, args.workers, args.cores, args.memory)
            print(json.dumps(asdict(state), indent=2))
        elif args.command == "down":
            print("stopped" if down(args.dir) else f"no cluster in {args.dir}")
        elif args.command == "status":
            print(json.dumps(status(args.dir), indent=2))
        else:
            prune_loop(args.dir)
    except (ClusterError, OSError) as error:
        print(error, file=sys.stderr)
        return 3 if args.command == "status" else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
