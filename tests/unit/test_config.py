import shlex
from pathlib import Path

import pytest

from contentlake.config import CONF_DIR, deep_merge, load_config, validate_identifier
from contentlake.spark_settings import (
    LOG4J_CONF,
    java_property,
    spark_conf,
    spark_submit_command,
)


def test_profiles_overlay_base_key_by_key(tmp_path):
    local = load_config("local", root=tmp_path)
    cluster = load_config("cluster", root=tmp_path)
    gpu = load_config("gpu", root=tmp_path)

    assert local.spark.master == "local[2]"
    assert local.spark.conf["spark.sql.shuffle.partitions"] == "4"
    assert cluster.spark.master is None
    assert cluster.spark.conf["spark.sql.shuffle.partitions"] == "400"
    # The gpu profile: each task's device comes from its GPU address (udfs/devices.py),
    # found by the discovery script shipped in conf/gpu/.
    assert gpu.embedding.device == "auto"
    assert gpu.spark.conf["spark.task.resource.gpu.amount"] == "1"
    discovery = gpu.spark.conf["spark.executor.resource.gpu.discoveryScript"]
    assert discovery == str(CONF_DIR / "gpu" / "discover_gpus.sh")
    assert Path(discovery).is_file()
    # Keys a profile does not mention come from base.yaml.
    assert gpu.spark.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert local.spark.packages == (
        "io.delta:delta-spark_4.1_2.13:4.4.0",
        "io.openlineage:openlineage-spark_2.13:1.53.0",
    )


def test_paths_live_under_the_root(tmp_path):
    cfg = load_config("local", root=tmp_path / "lake")
    root = (tmp_path / "lake").resolve()
    assert cfg.paths.root == root
    assert cfg.paths.landing == root / "landing"
    assert cfg.paths.warehouse == root / "warehouse"
    assert cfg.paths.snapshots == root / "snapshots"


def test_root_and_profile_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTENTLAKE_ROOT", str(tmp_path))
    monkeypatch.setenv("CONTENTLAKE_PROFILE", "gpu")
    cfg = load_config()
    assert cfg.profile == "gpu"
    assert cfg.paths.root == tmp_path.resolve()


def test_unknown_profile_and_bad_database_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown profile 'prod'"):
        load_config("prod", root=tmp_path)
    with pytest.raises(ValueError, match="not a valid table or database name"):
        load_config("local", root=tmp_path, overrides={"database": "x; drop table y"})


def test_validate_identifier():
    assert validate_identifier("content_daily_features") == "content_daily_features"
    for bad in ("", "1abc", "a-b", "a b", "a.b", "x" * 200):
        with pytest.raises(ValueError):
            validate_identifier(bad)


def test_deep_merge_merges_nested_mappings():
    merged = deep_merge({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"y": 3}, "c": 4})
    assert merged == {"a": {"x": 1, "y": 3}, "b": 1, "c": 4}


def test_local_spark_conf_puts_metastore_and_warehouse_under_root(tmp_path):
    cfg = load_config("local", root=tmp_path)
    conf = spark_conf(cfg)
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path.resolve() / "warehouse")
    assert (
        str(tmp_path.resolve() / "metastore") in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
    )
    cluster_conf = spark_conf(load_config("cluster", root=tmp_path))
    assert "spark.hadoop.javax.jdo.option.ConnectionURL" not in cluster_conf


def test_spark_submit_command_carries_packages_and_conf(tmp_path):
    cfg = load_config("local", root=tmp_path)
    command = spark_submit_command(cfg, "ingest_events", ["--run-date", "2026-11-01"])

    assert command[0] == "spark-submit"
    assert command[command.index("--packages") + 1] == (
        "io.delta:delta-spark_4.1_2.13:4.4.0,io.openlineage:openlineage-spark_2.13:1.53.0"
    )
    assert command[command.index("--master") + 1] == "local[2]"
    assert "spark.sql.shuffle.partitions=4" in command
    script = Path(command[-5])
    assert script.name == "ingest_events.py" and script.is_file()
    assert command[-4:] == ["--profile", "local", "--run-date", "2026-11-01"]
    with pytest.raises(ValueError, match="no job named"):
        spark_submit_command(cfg, "nope", [])


def test_local_driver_logs_through_the_project_log4j2_file(tmp_path):
    conf = spark_conf(load_config("local", root=tmp_path))
    options = shlex.split(conf["spark.driver.extraJavaOptions"])

    log4j = [o.removeprefix("-Dlog4j2.configurationFile=") for o in options if "log4j2" in o]
    assert len(log4j) == 1 and Path(log4j[0]).is_file()
    assert Path(log4j[0]) == LOG4J_CONF
    assert "rootLogger.level = warn" in LOG4J_CONF.read_text()
    # One option string: the Derby home the local metastore needs is still in it.
    assert f"-Dderby.system.home={tmp_path.resolve() / 'metastore'}" in options
    assert conf["spark.ui.showConsoleProgress"] == "false"
    # spark-submit gets the same single option string.
    command = spark_submit_command(load_config("local", root=tmp_path), "ingest_events", [])
    assert f"spark.driver.extraJavaOptions={conf['spark.driver.extraJavaOptions']}" in command
    # Clusters keep their own logging.
    cluster_conf = spark_conf(load_config("cluster", root=tmp_path))
    assert "log4j2" not in cluster_conf.get("spark.driver.extraJavaOptions", "")


def test_java_options_with_blanks_stay_one_option(tmp_path):
    root = tmp_path / "my lake"
    conf = spark_conf(load_config("local", root=root))
    options = shlex.split(conf["spark.driver.extraJavaOptions"])
    assert f"-Dderby.system.home={root.resolve() / 'metastore'}" in options
    assert java_property("a", "b c") == '"-Da=b c"'
