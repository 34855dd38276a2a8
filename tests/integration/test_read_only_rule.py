"""The SQL endpoint's read-only rule (``jvm/contentlake/sql/ReadOnlySqlExtension.java``) over a
wide range of statements, in a Spark process of its own: what reads runs, everything that
would change a table, the catalogue, the session's resources or run code is refused before
it executes, and the table is unchanged afterwards.

The endpoint itself (Thrift server, PostgreSQL role, a job writing) is tested in
``test_sql_endpoint.py``; this covers the rule's breadth with a local Derby session, which
is cheaper than one JDBC round trip per statement.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contentlake.config import load_config
from contentlake.sql_endpoint import EXTENSION_CLASS, REFUSED, SqlEndpointError, extension_jar

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

READS = (
    "select count(*) from t",
    "select * from t version as of 1 order by id",
    "select * from t where id in (select id from t)",
    "with doubled as (select id * 2 as id from t) select max(id) from doubled",
    "show tables",
    "show databases",
    "describe t",
    "describe history t",
    "describe detail t",
    "explain select * from t",
    "use default",
    "set spark.sql.shuffle.partitions=3",
)
WRITES = (
    "insert into t values (3)",
    "insert overwrite t select * from t",
    "with extra as (select 5 as id) insert into t select * from extra",
    "from t insert into t select id",
    "delete from t where id = 1",
    "update t set id = 9",
    "merge into t using (select 1 as id) as s on t.id = s.id when matched then delete",
    "truncate table t",
    "create table u (id int) using delta",
    "create table v using delta as select 1 as id",
    "create table c shallow clone t",
    "create or replace table t using delta as select 0 as id",
    "drop table t",
    "alter table t set tblproperties ('team' = 'analysts')",
    "alter table t add columns (extra string)",
    "optimize t",
    "vacuum t",
    # Version 0, the empty table: RESTORE to the current version is planned as an empty
    # relation, with nothing to write or refuse.
    "restore table t to version as of 0",
    "create database other",
    "drop database default",
    "create temporary view tv as select 1",
    "cache table t",
    "analyze table t compute statistics",
    "refresh table t",
    "insert overwrite directory '/tmp/contentlake-read-only-rule' using parquet select * from t",
    "add jar /nonexistent.jar",
    "create function f as 'com.example.F'",
    "select reflect('java.lang.System', 'getProperty', 'user.dir')",
    "select java_method('java.lang.System', 'getProperty', 'user.dir')",
    "select try_reflect('java.lang.System', 'getProperty', 'user.dir')",
    "select transform(id) using 'cat' as (id) from t",
    # The inner statement is analysed like any other, and refused.
    "execute immediate 'insert into t values (7)'",
)

# argv: root, extension jar, statements (JSON). Creates t (rows 1 and 2, two versions) in
# a session without the rule, then runs each statement in a session with it and prints one
# JSON line: each statement's outcome, and t's rows and version count afterwards.
SCRIPT = """
import json, logging, sys
from contentlake.config import load_config
from contentlake.session import build_spark
from contentlake.spark_settings import DRIVER_JAVA_OPTIONS, SHORT_LIVED_JVM_OPTIONS

logging.getLogger("SQLQueryContextLogger").disabled = True  # the refusals are expected
root, jar, statements = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
conf = {"spark.driver.extraClassPath": jar, "spark.driver.memory": "1g",
        DRIVER_JAVA_OPTIONS: SHORT_LIVED_JVM_OPTIONS}
cfg = load_config("local", root=root, overrides={"spark": {"conf": conf}})
spark = build_spark(cfg)
spark.sql("create table t (id int) using delta")
spark.sql("insert into t values (1), (2)")
spark.stop()

extensions = cfg.spark.conf["spark.sql.extensions"] + "," + sys.argv[4]
cfg = load_config("local", root=root, overrides={"spark": {"conf": {
    **conf, "spark.sql.extensions": extensions}}})
spark = build_spark(cfg)
outcomes = {}
for statement in statements:
    try:
        spark.sql(statement).collect()
        outcomes[statement] = "ran"
    except Exception as error:
        outcomes[statement] = "refused" if sys.argv[5] in str(error) else f"failed: {error}"
spark.sql("use default")
rows = [row.id for row in spark.sql("select id from t order by id").collect()]
versions = spark.sql("describe history t").count()
print(json.dumps({"outcomes": outcomes, "rows": rows, "versions": versions}), flush=True)
spark.stop()
"""


def test_reads_run_and_every_write_ddl_or_code_execution_is_refused(tmp_path):
    try:
        jar = extension_jar(load_config("local", root=tmp_path))
    except SqlEndpointError as missing:
        pytest.skip(f"cannot build the rule's jar: {missing}")
    statements = [*READS, *WRITES]
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(tmp_path / "lake"),
            str(jar),
            json.dumps(statements),
            EXTENSION_CLASS,
            REFUSED,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])

    assert result["outcomes"] == {
        **dict.fromkeys(READS, "ran"),
        **dict.fromkeys(WRITES, "refused"),
    }
    # Nothing reached the table: its two rows and its two versions (create, insert).
    assert result["rows"] == [1, 2]
    assert result["versions"] == 2
