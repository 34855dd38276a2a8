"""Metastore choice in configuration and Spark settings, and the server command's refusals
(no server is started here: see tests/integration/test_sql_endpoint.py)."""

import pytest

from contentlake import metastore
from contentlake.config import load_config
from contentlake.spark_settings import LOG4J_CONF, spark_conf, spark_submit_command

POSTGRES = {"metastore": {"kind": "postgres"}}


def test_postgres_kind_points_the_hive_client_at_postgres(tmp_path):
    cfg = load_config("local", root=tmp_path, overrides=POSTGRES)
    conf = spark_conf(cfg)
    metastore_conf = {
        key: value
        for key, value in conf.items()
        if key.startswith(("spark.hadoop.", "spark.driver.extra"))
    }
    assert metastore_conf == {
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            "jdbc:postgresql://localhost:5433/contentlake_metastore"
        ),
        "spark.hadoop.javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "spark.hadoop.javax.jdo.option.ConnectionUserName": "contentlake",
        "spark.hadoop.datanucleus.schema.autoCreateAll": "false",
        "spark.hadoop.datanucleus.schema.autoCreateTables": "true",
        "spark.hadoop.datanucleus.schema.autoCreateColumns": "true",
        "spark.hadoop.datanucleus.schema.autoCreateConstraints": "false",
        "spark.hadoop.hive.metastore.schema.verification": "false",
        "spark.driver.extraClassPath": str(
            tmp_path.resolve() / "metastore" / "jdbc" / "postgresql-42.7.14.jar"
        ),
        # The local profile logs through the project's log4j2 file with either metastore.
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J_CONF}",
    }
    # Everything else is as with Derby: warehouse, workers' Python, Delta settings.
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path.resolve() / "warehouse")
    assert "spark.pyspark.python" in conf
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_postgres_settings_follow_the_configuration(tmp_path):
    overrides = {
        "metastore": {
            "kind": "postgres",
            "postgres": {"host": "127.0.0.1", "port": 6543, "database": "hms", "user": "u"},
        }
    }
    conf = spark_conf(load_config("cluster", root=tmp_path, overrides=overrides))
    assert conf["spark.hadoop.javax.jdo.option.ConnectionURL"] == (
        "jdbc:postgresql://127.0.0.1:6543/hms"
    )
    assert conf["spark.hadoop.javax.jdo.option.ConnectionUserName"] == "u"
    # Not a local master: executors run the shipped environment, not this interpreter.
    assert conf["spark.pyspark.python"] == "./env/bin/python"


def test_derby_stays_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("CONTENTLAKE_METASTORE", raising=False)
    cfg = load_config("local", root=tmp_path)
    conf = spark_conf(cfg)
    assert cfg.metastore.kind == "derby"
    assert conf["spark.hadoop.javax.jdo.option.ConnectionURL"].startswith("jdbc:derby:")
    assert "spark.driver.extraClassPath" not in conf


def test_environment_switches_the_metastore_and_overrides_win(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTENTLAKE_METASTORE", "postgres")
    assert load_config("local", root=tmp_path).metastore.kind == "postgres"
    explicit = load_config("local", root=tmp_path, overrides={"metastore": {"kind": "derby"}})
    assert explicit.metastore.kind == "derby"
    monkeypatch.setenv("CONTENTLAKE_METASTORE", "mysql")
    with pytest.raises(ValueError, match="metastore.kind must be one of"):
        load_config("local", root=tmp_path)


def test_spark_submit_passes_the_metastore_settings(tmp_path):
    cfg = load_config("local", root=tmp_path, overrides=POSTGRES)
    command = spark_submit_command(cfg, "ingest_events", ["--run-date", "2026-11-01"])
    assert f"spark.driver.extraClassPath={metastore.driver_jar_path(cfg)}" in command
    assert (
        "spark.hadoop.javax.jdo.option.ConnectionURL="
        "jdbc:postgresql://localhost:5433/contentlake_metastore"
    ) in command


def test_the_password_never_reaches_a_command_line_or_a_file_in_conf(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTENTLAKE_METASTORE_PASSWORD", "s3cret-from-env")
    cfg = load_config("cluster", root=tmp_path, overrides=POSTGRES)
    command = spark_submit_command(cfg, "ingest_events", ["--run-date", "2026-11-01"])
    assert not [part for part in command if "s3cret" in part or "ConnectionPassword" in part]
    # The driver reads it from its environment when its session starts.
    assert metastore.metastore_password(cfg) == "s3cret-from-env"
    with pytest.raises(ValueError, match="does not belong in a configuration file"):
        load_config("local", root=tmp_path, overrides={"metastore": {"postgres": {"password": 1}}})


def test_a_local_server_generates_its_password_once_readable_by_its_owner_only(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("CONTENTLAKE_METASTORE_PASSWORD", raising=False)
    monkeypatch.delenv("CONTENTLAKE_SQL_ENDPOINT_PASSWORD", raising=False)
    cfg = load_config("local", root=tmp_path, overrides=POSTGRES)
    with pytest.raises(metastore.MetastoreError, match="CONTENTLAKE_METASTORE_PASSWORD"):
        metastore.metastore_password(cfg)
    generated = metastore.metastore_password(cfg, generate=True)
    assert len(generated) >= 32
    assert metastore.metastore_password(cfg) == generated  # kept, not regenerated
    assert metastore.metastore_password(cfg, generate=True) == generated
    secret = metastore.server_dir(cfg) / "secrets" / "metastore-password"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert metastore.endpoint_password(cfg, generate=True) not in (generated, "")


def test_up_says_how_to_install_missing_server_binaries(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(metastore, "find_bindir", lambda: None)
    assert metastore.main(["up", "--root", str(tmp_path)]) == 1
    assert "apt-get install -y postgresql" in capsys.readouterr().err


def test_up_refuses_a_remote_host(tmp_path):
    cfg = load_config(
        "local", root=tmp_path, overrides={"metastore": {"postgres": {"host": "db.example"}}}
    )
    with pytest.raises(metastore.MetastoreError, match="local server only"):
        metastore.up(cfg)


def test_driver_jar_is_copied_from_a_local_repository(tmp_path, monkeypatch):
    cfg = load_config("local", root=tmp_path / "lake")
    maven = tmp_path / "m2"
    cached = maven / "org" / "postgresql" / "postgresql" / "42.7.14" / "postgresql-42.7.14.jar"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"jar")
    monkeypatch.setattr(metastore, "MAVEN_REPOSITORY", maven)
    monkeypatch.setattr(metastore, "SPARK_IVY", tmp_path / "no-ivy")

    jar = metastore.ensure_driver_jar(cfg)
    assert jar == tmp_path.resolve() / "lake" / "metastore" / "jdbc" / "postgresql-42.7.14.jar"
    assert jar.read_bytes() == b"jar"
    assert metastore.ensure_driver_jar(cfg) == jar  # already there: kept
