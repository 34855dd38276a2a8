"""The analysts' SQL endpoint, end to end: a Spark Thrift server on the PostgreSQL metastore
answers JDBC queries (beeline) while the pipeline's own Spark process runs the ingest jobs,
each answer a committed Delta version; the analyst's INSERT, DROP and CREATE are refused
while the pipeline's writes land.

The pipeline is a subprocess that loads the configuration like a job does: the
metastore's kind comes from ``CONTENTLAKE_METASTORE=postgres``, as a user's jobs take it,
and an override only moves the server to a free port. The endpoint is started with
``contentlake.sql_endpoint.start`` as ``make sql-endpoint`` starts it.

This test is also the shared metastore's: the endpoint is an analyst's Spark process that
resolves the tables by name through PostgreSQL while the job's process writes them (Derby
would refuse the second process outright), and every answer is a committed version. (A
separate analyst pyspark session doing the same cost 139 s of CI; the DAG test reads the
tables by name from a pyspark session on the shared metastore after its run.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from contentlake.config import load_config
from contentlake.metastore import INSTALL_HINT, down, server_available, up
from contentlake.sample_data import SampleSpec, generate
from contentlake.spark_settings import DRIVER_JAVA_OPTIONS, SHORT_LIVED_JVM_OPTIONS
from contentlake.sql_endpoint import REFUSED, SqlEndpointError, query, query_file, start, stop
from contentlake.sql_files import SQL_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not server_available(), reason=f"PostgreSQL server binaries not installed: {INSTALL_HINT}"
    ),
    pytest.mark.skipif(shutil.which("javac") is None, reason="no JDK (javac) to build the rule"),
]

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 1)
# Bad rows too (the default share), so the analyst query below has quarantine rows to count.
SPEC = SampleSpec(items=30, days=1, users=10, events_per_day=300, start_date=DAY)
ANALYST_FILE = SQL_DIR / "analyst" / "quarantine_by_reason.sql"
TIMEOUT_S = 480
# Enough answers to see the write in progress; more would only take CPU from the job on a
# small machine (each is a beeline JVM and a query on the server).
MAX_PROBES = 5
PROBE_PAUSE_S = 2.0
# The analyst's query during the write: when it ran, and what it saw of both tables.
PROBE = (
    "select unix_millis(current_timestamp()) as at, "
    "(select count(*) from events) as events, (select count(*) from content) as content"
)
ANALYST_WRITES = (
    "insert into events select * from events",
    "drop table content",
    "create table analyst_scratch (id int) using delta",
)

# argv: root, overrides (JSON), go file, analyst SQL file, run date. JSON lines: "schema"
# once the metastore's schema exists, "tables" once the tables do; then, after the go file
# appears, the jobs' run, and at the end the analyst file's rows, the final counts and the
# count of every committed version, all from the pipeline's own session.
WRITER = """
import json, sys, time
from datetime import date
from pathlib import Path
from contentlake.config import load_config
from contentlake.session import build_spark
from contentlake.tables import ensure_tables, sql_statements, use_database
from contentlake.jobs import ingest_catalog, ingest_events

cfg = load_config("local", root=sys.argv[1], overrides=json.loads(sys.argv[2]))
go, analyst_file, run_date = Path(sys.argv[3]), Path(sys.argv[4]), date.fromisoformat(sys.argv[5])
spark = build_spark(cfg)
spark.sql("show databases").collect()  # the first session creates the metastore's schema
print(json.dumps({"schema": True}), flush=True)
ensure_tables(spark, cfg)
print(json.dumps({"tables": True}), flush=True)
while not go.exists():
    time.sleep(0.2)
started = time.time()
for job in (ingest_catalog, ingest_events):
    job.run(spark, cfg, run_date)
ended = time.time()
use_database(spark, cfg)
(statement,) = sql_statements(analyst_file)
rows = [[None if v is None else str(v) for v in row] for row in spark.sql(statement).collect()]
final, committed = {}, {}
for table in ("events", "content"):
    final[table] = spark.table(table).count()
    versions = [row.version for row in spark.sql(f"describe history {table}").collect()]
    committed[table] = sorted({
        spark.sql(f"select count(*) from {table} version as of {v}").first()[0] for v in versions
    })
print(json.dumps({"started": started, "ended": ended, "rows": rows, "final": final,
                  "committed": committed}), flush=True)
spark.stop()
"""


@pytest.fixture
def endpoint_lake(postgres_root, free_port, monkeypatch):
    """A lakehouse root with its own PostgreSQL metastore and endpoint port, both free."""
    # No kind in the overrides: this process and the writer it starts both take it from
    # CONTENTLAKE_METASTORE, as a user's jobs do.
    monkeypatch.setenv("CONTENTLAKE_METASTORE", "postgres")
    overrides = {
        "metastore": {"postgres": {"port": free_port()}},
        "sql_endpoint": {"port": free_port()},
        # The endpoint and the writer live for the test's minute: short-lived JVMs.
        "spark": {
            "conf": {
                "spark.driver.memory": "1g",
                DRIVER_JAVA_OPTIONS: SHORT_LIVED_JVM_OPTIONS,
            }
        },
    }
    cfg = load_config("local", root=postgres_root, overrides=overrides)
    assert cfg.metastore.kind == "postgres"
    up(cfg)
    try:
        yield cfg, overrides
    finally:
        stop(cfg)
        down(cfg)


def json_line(log: Path, key: str) -> dict | None:
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and key in record:
            return record
    return None


def wait_for(log: Path, key: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while json_line(log, key) is None:
        assert process.poll() is None, f"writer exited early:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"writer never reached {key!r}"
        time.sleep(0.5)


def refusal(cfg, statement: str) -> str:
    with pytest.raises(SqlEndpointError) as refused:
        query(cfg, statement)
    return str(refused.value)


def test_analyst_queries_over_jdbc_while_a_job_writes_and_cannot_write(endpoint_lake, tmp_path):
    cfg, overrides = endpoint_lake
    generate(cfg.paths.landing, SPEC)
    go, log = tmp_path / "go", tmp_path / "writer.log"
    with log.open("w") as out:
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(cfg.paths.root),
                json.dumps(overrides),
                str(go),
                str(ANALYST_FILE),
                DAY.isoformat(),
            ],
            cwd=REPO,  # and the environment above, CONTENTLAKE_METASTORE included
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(log, "schema", writer)
        start(cfg)  # while the pipeline creates its tables
        wait_for(log, "tables", writer)
        go.touch()
        # The analyst tries to write while the job writes, then queries while it runs.
        refusals = {statement: refusal(cfg, statement) for statement in ANALYST_WRITES}
        probes = []
        while writer.poll() is None and len(probes) < MAX_PROBES:
            probes.append(query(cfg, PROBE).rows[0])
            time.sleep(PROBE_PAUSE_S)
        assert writer.wait(TIMEOUT_S) == 0, log.read_text()[-4000:]
    finally:
        if writer.poll() is None:
            writer.kill()

    pipeline = json_line(log, "final")
    committed, final = pipeline["committed"], pipeline["final"]
    assert final["events"] > 0 and final["content"] > 0  # the pipeline's writes landed

    for statement, message in refusals.items():
        assert REFUSED in message, (statement, message)
    started_ms, ended_ms = pipeline["started"] * 1000, pipeline["ended"] * 1000
    during = [probe for probe in probes if started_ms <= int(probe[0]) <= ended_ms]
    assert during, (probes, started_ms, ended_ms)
    for _, events, content in probes:
        # A committed version each time (before or after a commit), never a partial write.
        assert int(events) in committed["events"], (events, committed["events"])
        assert int(content) in committed["content"], (content, committed["content"])

    # After the run: the JDBC answers are the pipeline session's, nothing the analyst tried
    # landed (no doubled events, content still there, no scratch table).
    _, events, content = query(cfg, PROBE).rows[0]
    assert {"events": int(events), "content": int(content)} == final
    assert query(cfg, "show tables like 'analyst_scratch'").rows == []
    analyst = query_file(cfg, ANALYST_FILE)
    assert analyst.columns == (
        "source_table",
        "_ingest_date",
        "reason",
        "rows_quarantined",
        "example_key",
    )
    assert analyst.rows == [tuple(row) for row in pipeline["rows"]]
    assert analyst.rows  # the sample's bad rows were quarantined
