"""Crash safety: a job killed with SIGKILL in the middle of its write stage and started
again in a fresh process leaves the lakehouse exactly as a clean run leaves it, for each
kind of write (several tables, an overwrite of the run's slice, a MERGE, a snapshot).

The jobs run as separate processes through their own ``main()`` (as ``jobs/<job>.py``
does), on their own lakehouse root: the embedded Derby metastore serves one process at a
time. To keep to five JVM starts, each process first reruns the job the previous process
was killed in (the recovery) and then starts the next job, which is killed in turn. The
clean run is this test session's own, over the very same landing files.
"""

import importlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.content_hash import content_hash
from contentlake.sample_data import SampleSpec, generate
from contentlake.spark_settings import DRIVER_JAVA_OPTIONS, SHORT_LIVED_JVM_OPTIONS
from contentlake.tables import ensure_tables

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SPEC = SampleSpec(items=30, days=1, users=15, events_per_day=100, seed=13)
DAY = SPEC.landing_dates()[0]
PROCESS_SECONDS = 480

# The jobs in pipeline order: for each killed one, the stage it is killed in and the folder
# (under the lakehouse root) that the stage writes first; a job with no stage runs through
# in the process that kills the next one.
CRASHES = (
    ("ingest_catalog", "write and check content", "content"),
    ("ingest_events", "write and check events", "events"),
    # Not killed: its write is the gated overwrite of the run date's slice that ingest_events
    # is killed in just before; killing it too cost one more process (a JVM start and a
    # rerun) for the same kind of write.
    ("build_features", None, None),
    ("embed_content", "merge and check content_embeddings", "content_embeddings"),
    # A tiny snapshot is staged and renamed within the log reader's latency, so the kill
    # lands while the job reads the vectors; the staged publish itself is atomic by rename
    # (tests/unit/test_index_snapshot.py).
    ("publish_index", "collect vectors", None),
)
# The Delta tables each job writes; after a kill each holds nothing or its final rows.
TARGETS = {
    "ingest_catalog": ("bronze_catalog", "content", "content_quarantine"),
    "ingest_events": ("bronze_events", "events", "events_quarantine"),
    "build_features": ("content_daily_features",),
    "embed_content": ("content_embeddings",),
    "publish_index": (),
}
# Compared across two lakehouse roots, also leave out what names the root (the snapshot
# path in publish_index's job_runs details) and the vectors themselves, which another
# process may batch differently: they are compared with a float tolerance instead.
ACROSS_ROOTS = {
    "job_runs": ("finished_at", "details", "checks"),  # checks: hashed through dq_results
    "dq_results": ("checked_at", "duration_ms", "table_version"),
    "content_embeddings": ("embedding",),
}
# Runs the named jobs one after another in one process, each through its own main().
RUNNER = """
import sys
from importlib import import_module

root, day, *jobs = sys.argv[1:]
for job in jobs:
    if import_module(f"contentlake.jobs.{job}").main(["--run-date", day, "--root", root]) != 0:
        sys.exit(f"{job} failed")
"""


class JobProcess:
    """The runner in its own process group, its output collected line by line."""

    def __init__(self, root: Path, jobs: list[str], conf: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
        env.update(CONTENTLAKE_PROFILE="local", CONTENTLAKE_CONF=str(conf), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(root), DAY.isoformat(), *jobs],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace"))

    def saw(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in list(self.lines))

    def tail(self) -> str:
        return "".join(self.lines[-40:])

    def wait_for(self, pattern: str) -> None:
        deadline = time.monotonic() + PROCESS_SECONDS
        while not self.saw(pattern):
            assert self.process.poll() is None, f"exited before {pattern!r}:\n{self.tail()}"
            assert time.monotonic() < deadline, f"no {pattern!r} in time:\n{self.tail()}"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the whole group (driver, JVM, Python workers) and wait until it is gone."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.reader.join(timeout=10)

    def finish(self) -> None:
        assert self.process.wait(timeout=PROCESS_SECONDS) == 0, self.tail()
        self.reader.join(timeout=10)


def data_files(folder: Path) -> set[Path]:
    if not folder.is_dir():
        return set()
    return {p for p in folder.rglob("*") if p.is_file() and "_delta_log" not in p.parts}


def kill_mid_stage(job: JobProcess, stage: str, folder: Path | None) -> dict[str, bool]:
    """Wait for ``stage`` to start, then kill as soon as it has written a new file into
    ``folder`` (files but no commit yet), or at the latest when it logs its end."""
    job.wait_for(rf"{re.escape(stage)}: started")
    ended = rf"{re.escape(stage)}: \d+\.\d+s"
    if folder is None:
        # Kill as the stage starts: used where the stage writes no table files to watch.
        finished = job.saw(ended)
        job.kill()
        return {"files_written": False, "stage_finished": finished}
    before = data_files(folder)
    deadline = time.monotonic() + PROCESS_SECONDS
    while not (data_files(folder) - before) and not job.saw(ended):
        assert time.monotonic() < deadline, job.tail()
        time.sleep(0.01)
    uncommitted = bool(data_files(folder) - before)
    finished = job.saw(ended)
    job.kill()
    return {"files_written": uncommitted, "stage_finished": finished}


def table_reader(spark, warehouse: Path):
    """Tables of a lakehouse whose metastore this session does not hold, read by path; the
    views ``job_runs`` (over ``job_run_attempts``) and ``dq_results`` (over ``job_runs``) are
    rebuilt as their DDL defines them."""

    def read(table: str):
        if table == "job_runs":
            latest = Window.partitionBy("job", "run_date").orderBy(
                F.desc("finished_at"), F.desc("run_id")
            )
            return (
                read("job_run_attempts")
                .withColumn("attempt_rank", F.row_number().over(latest))
                .where("attempt_rank = 1")
                .drop("attempt_rank")
            )
        if table == "dq_results":
            return read("job_runs").selectExpr(
                "run_id",
                "run_date",
                "job",
                "status as run_status",
                "inline(checks)",
                "finished_at as checked_at",
            )
        return spark.read.format("delta").load(str(warehouse / table))

    return read


def hash_or_absent(read, warehouse: Path, table: str) -> str:
    if not (warehouse / table / "_delta_log").is_dir():
        return "absent"
    return content_hash(read(table), ACROSS_ROOTS.get(table, ()))


def published(snapshots: Path) -> set[str]:
    if not snapshots.is_dir():
        return set()
    return {p.name for p in snapshots.iterdir() if p.is_dir() and not p.name.startswith(".")}


def vectors(df) -> np.ndarray:
    return np.array([row.embedding for row in df.orderBy("content_id").collect()])


def test_a_job_killed_mid_write_and_rerun_leaves_what_a_clean_run_leaves(
    spark, tmp_path, hash_lake, read_snapshots, tiny_model, tiny_model_conf
):
    root = tmp_path / "crashed"
    generate(root / "landing", SPEC)
    clean_cfg = load_config(
        "local",
        root=tmp_path / "clean",
        overrides={
            "database": "t_crash_clean",
            "paths": {"landing": str(root / "landing")},
            # The jobs killed here end with the text vectors; the fused ones have their own
            # suite (tests/integration/test_multimodal_jobs.py).
            "index": {"modality": "text"},
            **tiny_model,
        },
    )
    text_conf = tmp_path / "text_index.yaml"
    # Each job process lives for seconds: its JVM on the short-lived options.
    text_conf.write_text(
        tiny_model_conf.read_text()
        + "index:\n  modality: text\n"
        + f"spark:\n  conf:\n    {DRIVER_JAVA_OPTIONS}: '{SHORT_LIVED_JVM_OPTIONS}'\n"
    )
    spark.sql("drop database if exists t_crash_clean cascade")
    ensure_tables(spark, clean_cfg)
    # The same jobs the crashed lakehouse runs (measure_drift is not killed here yet).
    for job, _, _ in CRASHES:
        importlib.import_module(f"contentlake.jobs.{job}").run(spark, clean_cfg, DAY)
    clean_read = lambda table: spark.table(f"t_crash_clean.{table}")  # noqa: E731
    clean = {
        table: content_hash(clean_read(table), ACROSS_ROOTS.get(table, ()))
        for tables in TARGETS.values()
        for table in tables
    }

    warehouse = root / "warehouse" / "contentlake.db"
    crashed_read = table_reader(spark, warehouse)
    kills = {}
    recover = ["create_tables"]  # the first process creates the tables, as the DAG does
    for job, stage, table in CRASHES:
        if stage is None:
            recover.append(job)
            continue
        process = JobProcess(root, [*recover, job], text_conf)
        folder = warehouse / table if table else None
        kills[job] = kill_mid_stage(process, stage, folder)
        assert not kills[job]["stage_finished"], (job, kills[job])
        for target in TARGETS[job]:
            # All or nothing: the killed commit left no partial rows behind.
            state = hash_or_absent(crashed_read, warehouse, target)
            assert state in ("absent", "0:0", clean[target]), (job, target, state)
        assert published(root / "snapshots") <= published(clean_cfg.paths.snapshots)
        recover = [job]
    JobProcess(root, recover, text_conf).finish()

    print("kills:", kills)
    assert hash_lake(crashed_read, ACROSS_ROOTS) == hash_lake(clean_read, ACROSS_ROOTS)
    assert read_snapshots(root / "snapshots") == read_snapshots(clean_cfg.paths.snapshots)
    np.testing.assert_allclose(
        vectors(crashed_read("content_embeddings")),
        vectors(clean_read("content_embeddings")),
        atol=1e-5,
    )
