"""The SQL endpoint's settings, commands and result parsing, without starting anything
(the server, its read-only rule and a job writing meanwhile: tests/integration/
test_sql_endpoint.py and test_read_only_rule.py, both slow)."""

from pathlib import Path

import pytest

from contentlake import sql_endpoint
from contentlake.config import SqlEndpointSettings, load_config
from contentlake.sql_endpoint import (
    EXTENSION_CLASS,
    QueryResult,
    SqlEndpointError,
    beeline_command,
    format_rows,
    grant_read_only_role,
    hive_settings,
    parse_tsv2,
    query_file,
    server_command,
    server_settings,
    status,
)

ENDPOINT = {"sql_endpoint": {"port": 10123, "user": "reader"}}


def test_defaults_and_overrides_of_the_endpoint_settings(tmp_path):
    assert load_config("local", root=tmp_path).sql_endpoint == SqlEndpointSettings(
        host="localhost", port=10000, user="analyst"
    )
    cfg = load_config("local", root=tmp_path, overrides=ENDPOINT)
    assert cfg.sql_endpoint == SqlEndpointSettings("localhost", 10123, "reader")
    assert sql_endpoint.jdbc_url(cfg) == "jdbc:hive2://localhost:10123/contentlake"


def test_server_reads_the_postgres_metastore_as_its_own_role_with_the_rule_last(tmp_path):
    # Derby in the configuration: the endpoint is a second process, so it always uses the
    # shared PostgreSQL metastore, with the pipeline's every other setting.
    cfg = load_config("local", root=tmp_path, overrides=ENDPOINT)
    conf = server_settings(cfg)
    assert {key: conf[key] for key in conf if key.startswith("spark.hadoop.")} == {
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            "jdbc:postgresql://localhost:5433/contentlake_metastore"
        ),
        "spark.hadoop.javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "spark.hadoop.javax.jdo.option.ConnectionUserName": "reader",
        "spark.hadoop.datanucleus.schema.autoCreateAll": "false",
        "spark.hadoop.datanucleus.schema.autoCreateTables": "false",
        "spark.hadoop.datanucleus.schema.autoCreateColumns": "false",
        "spark.hadoop.datanucleus.schema.autoCreateConstraints": "false",
        "spark.hadoop.hive.metastore.schema.verification": "false",
    }
    assert conf["spark.sql.extensions"] == (
        f"io.delta.sql.DeltaSparkSessionExtension,{EXTENSION_CLASS}"
    )
    assert conf["spark.driver.extraClassPath"] == str(
        tmp_path.resolve() / "metastore" / "jdbc" / "postgresql-42.7.14.jar"
    )
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path.resolve() / "warehouse")


def test_hive_server_listens_where_configured_without_authentication(tmp_path):
    cfg = load_config("local", root=tmp_path, overrides=ENDPOINT)
    hive = tmp_path.resolve() / "sql_endpoint" / "hive"
    assert hive_settings(cfg) == {
        "hive.server2.thrift.bind.host": "localhost",
        "hive.server2.thrift.port": "10123",
        "hive.server2.transport.mode": "binary",
        "hive.server2.authentication": "NONE",
        "hive.server2.enable.doAs": "false",
        "hive.server2.logging.operation.log.location": str(hive / "operation_logs"),
        "hive.exec.scratchdir": str(hive / "scratch"),
        "hive.exec.local.scratchdir": str(hive / "local_scratch"),
        "hive.downloaded.resources.dir": str(hive / "resources"),
    }


def test_server_command_puts_packages_on_the_jvm_class_path_not_packages(tmp_path):
    cfg = load_config("local", root=tmp_path, overrides=ENDPOINT)
    jars = [Path("/jars/rule.jar"), Path("/jars/delta-spark.jar")]
    command, environment = server_command(cfg, jars, tmp_path / "secrets.properties")
    assert command[1:9] == [
        "--properties-file",
        str(tmp_path / "secrets.properties"),
        "--class",
        "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--name",
        "contentlake-sql-endpoint",
        "--master",
        "local[2]",
    ]
    assert "--packages" not in command and "--jars" not in command
    # Spark settings before the (absent) application, HiveServer2's after it.
    marker = command.index("spark-internal")
    assert all(flag != "--hiveconf" for flag in command[:marker])
    assert all(flag != "--conf" for flag in command[marker:])
    assert "--hiveconf" in command[marker:]
    assert environment == {"SPARK_DIST_CLASSPATH": "/jars/rule.jar:/jars/delta-spark.jar"}


def test_the_endpoint_refuses_the_pipelines_own_metastore_role(tmp_path):
    cfg = load_config("local", root=tmp_path, overrides={"sql_endpoint": {"user": "contentlake"}})
    with pytest.raises(SqlEndpointError, match="role of its own"):
        grant_read_only_role(cfg)


def test_beeline_runs_a_file_as_the_endpoint_user(tmp_path):
    cfg = load_config("local", root=tmp_path, overrides=ENDPOINT)
    command = beeline_command(cfg, Path("/q.sql"))
    assert command[1] == "-cp" and command[2].endswith("pyspark/jars/*")
    assert command[3:] == [
        "org.apache.hive.beeline.BeeLine",
        "-u",
        "jdbc:hive2://localhost:10123/contentlake",
        "-n",
        "reader",
        "--silent=true",
        "--outputformat=tsv2",
        "-f",
        "/q.sql",
    ]
    assert beeline_command(cfg)[-2:] == ["-n", "reader"]  # interactive


def test_tsv2_output_parses_to_columns_and_rows():
    # As beeline prints it: blank lines around the result, NULL, a value holding a tab
    # wrapped in NUL characters, an empty string.
    text = "\na\tb\tc\td\n1\tNULL\t\x00x\ty\x00\t\n2\tz\tw\tv\n\n"
    assert parse_tsv2(text) == QueryResult(
        columns=("a", "b", "c", "d"), rows=[("1", None, "x\ty", ""), ("2", "z", "w", "v")]
    )
    assert parse_tsv2("\ncontent_id\n\n") == QueryResult(columns=("content_id",), rows=[])
    assert parse_tsv2("") == QueryResult(columns=(), rows=[])


def test_rows_print_aligned_up_to_the_limit():
    result = QueryResult(columns=("id", "title"), rows=[("1", "Storm"), ("22", None)])
    assert format_rows(result, 20) == ("id | title\n---+------\n1  | Storm\n22 | NULL\n(2 rows)")
    assert format_rows(result, 1) == "id | title\n---+------\n1  | Storm\n(2 rows, 1 shown)"


def test_a_file_must_hold_one_statement(tmp_path):
    two = tmp_path / "two.sql"
    two.write_text("select 1;\nselect 2;\n")
    with pytest.raises(SqlEndpointError, match="must hold one statement, found 2"):
        query_file(load_config("local", root=tmp_path), two)


def test_status_ignores_a_pid_file_of_another_process(tmp_path):
    cfg = load_config("local", root=tmp_path, overrides=ENDPOINT)
    folder = sql_endpoint.endpoint_dir(cfg)
    folder.mkdir(parents=True)
    (folder / "endpoint.pid").write_text("1\n")  # init, not a Thrift server
    current = status(cfg)
    assert (current.running, current.pid) == (False, None)
    assert sql_endpoint.stop(cfg) is False  # and stop leaves that process alone
