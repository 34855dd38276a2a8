"""With the PostgreSQL metastore, an analyst's Spark process queries the tables by name
while a job's process writes them, and only ever sees committed Delta versions.

Both sides are subprocesses (a JVM holds one metastore configuration) started from small
scripts that load the configuration like the jobs do: ``CONTENTLAKE_METASTORE=postgres``
picks the metastore, an override only moves the server to a free port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from contentlake.config import load_config
from contentlake.metastore import INSTALL_HINT, down, server_available, up
from contentlake.sample_data import SampleSpec, generate

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not server_available(), reason=f"PostgreSQL server binaries not installed: {INSTALL_HINT}"
    ),
]

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 1)
SPEC = SampleSpec(items=30, days=1, users=10, events_per_day=200, start_date=DAY, bad_share=0.0)
TABLES = ("content", "events")
START_TIMEOUT_S = 300
RUN_TIMEOUT_S = 480

# argv: root, overrides (JSON), run date. Prints {job: rows_written} as its last line.
WRITER = """
import json, sys
from datetime import date
from contentlake.config import load_config
from contentlake.session import build_spark
from contentlake.tables import ensure_tables
from contentlake.jobs import ingest_catalog, ingest_events

cfg = load_config("local", root=sys.argv[1], overrides=json.loads(sys.argv[2]))
spark = build_spark(cfg)
ensure_tables(spark, cfg)
run_date = date.fromisoformat(sys.argv[3])
written = {job.JOB: job.run(spark, cfg, run_date).rows_written
           for job in (ingest_catalog, ingest_events)}
spark.stop()
print(json.dumps(written), flush=True)
"""

# argv: root, overrides (JSON), stop file, tables. One JSON line per round of counts
# (null: no such table yet) until the stop file appears, then the final counts and the
# count of every committed version of each table.
READER = """
import json, logging, sys, time
from pathlib import Path
from pyspark.errors import AnalysisException
from contentlake.config import load_config
from contentlake.session import build_spark

cfg = load_config("local", root=sys.argv[1], overrides=json.loads(sys.argv[2]))
stop, tables = Path(sys.argv[3]), sys.argv[4:]
spark = build_spark(cfg)
logging.getLogger("SQLQueryContextLogger").disabled = True  # "not found" is expected here
spark.sql("show databases").collect()  # the first session creates the metastore schema
print(json.dumps({"ready": True}), flush=True)

def count(table):
    try:
        return spark.sql(f"select count(*) from {cfg.database}.{table}").first()[0]
    except AnalysisException as error:
        if error.getCondition() in ("TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND"):
            return None
        raise

while not stop.exists():
    print(json.dumps({"at": time.time(), **{t: count(t) for t in tables}}), flush=True)
    time.sleep(0.5)
committed = {}
for table in tables:
    versions = spark.sql(f"describe history {cfg.database}.{table}").select("version").collect()
    committed[table] = sorted({
        spark.sql(f"select count(*) from {cfg.database}.{table} version as of {row.version}")
        .first()[0]
        for row in versions
    })
print(json.dumps({"final": {t: count(t) for t in tables}, "committed": committed}), flush=True)
spark.stop()
"""


@pytest.fixture
def shared_lake(postgres_root, free_port):
    """A lakehouse root with its own PostgreSQL metastore on a free port."""
    root = postgres_root
    port = free_port()
    cfg = load_config(
        "local",
        root=root,
        overrides={"metastore": {"kind": "postgres", "postgres": {"port": port}}},
    )
    up(cfg)
    try:
        # The processes take the kind from CONTENTLAKE_METASTORE, as a user's jobs would.
        yield (
            cfg,
            {
                "metastore": {"postgres": {"port": port}},
                "spark": {"conf": {"spark.ui.showConsoleProgress": "false"}},  # clean stdout
            },
        )
    finally:
        down(cfg)


def spark_process(script: str, args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "CONTENTLAKE_METASTORE": "postgres"}
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def json_lines(log: Path, key: str) -> list[dict]:
    """The JSON lines of a script's output that carry ``key`` (Spark logs go there too)."""
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and key in record:
            lines.append(record)
    return lines


def wait_until_ready(reader: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not json_lines(log, "ready"):
        assert reader.poll() is None, f"reader exited early:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, "reader session did not start"
        time.sleep(1)


def test_analyst_session_reads_tables_by_name_while_a_job_writes(shared_lake, tmp_path):
    cfg, overrides = shared_lake
    generate(cfg.paths.landing, SPEC)
    common = [str(cfg.paths.root), json.dumps(overrides)]
    stop = tmp_path / "stop"
    reader_log, writer_log = tmp_path / "reader.log", tmp_path / "writer.log"

    reader = spark_process(READER, [*common, str(stop), *TABLES], reader_log)
    writer = None
    try:
        wait_until_ready(reader, reader_log)
        writer = spark_process(WRITER, [*common, DAY.isoformat()], writer_log)
        writer_started = time.time()
        assert writer.wait(RUN_TIMEOUT_S) == 0, writer_log.read_text()[-4000:]
        writer_ended = time.time()
        stop.touch()
        assert reader.wait(START_TIMEOUT_S) == 0, reader_log.read_text()[-4000:]
    finally:
        for process in (reader, writer):
            if process is not None and process.poll() is None:
                process.kill()

    (written,) = json_lines(writer_log, "ingest_catalog")
    rounds = json_lines(reader_log, "at")
    (summary,) = json_lines(reader_log, "final")
    final, committed = summary["final"], summary["committed"]

    assert final == {"content": written["ingest_catalog"], "events": written["ingest_events"]}
    assert final["content"] > 0 and final["events"] > 0
    during = [r for r in rounds if writer_started <= r["at"] <= writer_ended]
    # Derby would have refused the second process outright; here it resolved the tables
    # by name while the job ran, and found them at least once.
    assert any(r[t] is not None for r in during for t in TABLES), rounds
    for table in TABLES:
        seen = {r[table] for r in rounds} - {None}
        assert seen <= set(committed[table]), (table, seen, committed[table])
