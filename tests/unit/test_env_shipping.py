"""The cluster profile ships the executors' environment archive; the archive's build reuses
what it built from the same wheel content (contentlake/env_archive.py)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from contentlake.config import load_config
from contentlake.env_archive import clear_stale_build, wheel_content_hash
from contentlake.spark_settings import ENV_ARCHIVE_VARIABLE, spark_conf, spark_submit_command

SHIPPING_KEYS = ("spark.archives", "spark.pyspark.python", "spark.pyspark.driver.python")


def shipping(conf: dict[str, str]) -> dict[str, str]:
    return {key: conf[key] for key in SHIPPING_KEYS if key in conf}


def test_the_cluster_profile_ships_the_archive_and_runs_executors_from_it(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_ARCHIVE_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)

    conf = spark_conf(load_config("cluster", root=tmp_path))

    # The profile's relative path, made absolute against where the command is built.
    assert shipping(conf) == {
        "spark.archives": f"{tmp_path}/dist/contentlake-env.tar.gz#env",
        "spark.pyspark.python": "./env/bin/python",
        "spark.pyspark.driver.python": sys.executable,
    }


def test_the_variable_names_any_hadoop_uri_and_wins_over_the_profile(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_ARCHIVE_VARIABLE, "hdfs:///apps/contentlake/env.tar.gz")
    cfg = load_config("cluster", root=tmp_path)

    command = spark_submit_command(cfg, "embed_content", ["--run-date", "2026-11-01"])

    assert "--conf" in command
    assert "spark.archives=hdfs:///apps/contentlake/env.tar.gz#env" in command
    assert "spark.pyspark.python=./env/bin/python" in command


def test_cluster_deploy_mode_leaves_the_driver_to_the_archive_and_keeps_other_archives(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(ENV_ARCHIVE_VARIABLE, "s3a://bucket/env.tar.gz")
    cfg = load_config(
        "cluster",
        root=tmp_path,
        overrides={
            "spark": {
                "conf": {
                    "spark.submit.deployMode": "cluster",
                    "spark.archives": "s3a://bucket/models.tar.gz#models",
                }
            }
        },
    )

    assert shipping(spark_conf(cfg)) == {
        "spark.archives": "s3a://bucket/models.tar.gz#models,s3a://bucket/env.tar.gz#env",
        "spark.pyspark.python": "./env/bin/python",
    }


@pytest.mark.parametrize("profile", ["local", "cluster"])
def test_nothing_is_shipped_without_an_archive_or_to_local_spark(tmp_path, monkeypatch, profile):
    monkeypatch.setenv(ENV_ARCHIVE_VARIABLE, "/somewhere/env.tar.gz")
    overrides = {"spark": {"env_archive": None}} if profile == "cluster" else {}
    if profile == "cluster":
        monkeypatch.delenv(ENV_ARCHIVE_VARIABLE)

    conf = spark_conf(load_config(profile, root=tmp_path, overrides=overrides))

    assert "spark.archives" not in conf
    assert "spark.pyspark.driver.python" not in conf
    # Local Spark runs its Python workers with the driver's own interpreter.
    assert conf.get("spark.pyspark.python") == (sys.executable if profile == "local" else None)


def _wheel(path: Path, members: dict[str, bytes], date_time: tuple[int, ...]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=date_time), data)
    return path


def test_the_wheel_hash_ignores_zip_timestamps_and_order_but_not_content(tmp_path):
    members = {"contentlake/__init__.py": b"", "contentlake/config.py": b"x = 1\n"}
    first = _wheel(tmp_path / "a.whl", members, (2026, 1, 1, 0, 0, 0))
    rebuilt = _wheel(
        tmp_path / "b.whl", dict(reversed(list(members.items()))), (2026, 12, 3, 12, 0, 0)
    )
    changed = _wheel(
        tmp_path / "c.whl", {**members, "contentlake/config.py": b"x = 2\n"}, (2026, 1, 1, 0, 0, 0)
    )

    assert first.read_bytes() != rebuilt.read_bytes()
    assert wheel_content_hash(first) == wheel_content_hash(rebuilt)
    assert wheel_content_hash(first) != wheel_content_hash(changed)


def test_a_wheel_build_starts_without_setuptools_leftovers(tmp_path):
    """A file removed from the source must not ship from setuptools' old build/lib copy;
    the environment built beside it is kept."""
    build = tmp_path / "build"
    stale = build / "lib" / "contentlake" / "sql" / "dq" / "content_embeddings" / "old.sql"
    stale.parent.mkdir(parents=True)
    stale.write_text("select 1")
    (build / "bdist.linux-x86_64" / "wheel").mkdir(parents=True)
    kept = build / "env-archive" / "venv" / "bin" / "python"
    kept.parent.mkdir(parents=True)
    kept.write_text("")

    removed = clear_stale_build(tmp_path)

    assert sorted(p.name for p in removed) == ["bdist.linux-x86_64", "lib"]
    assert sorted(p.name for p in build.iterdir()) == ["env-archive"]
    assert kept.is_file()
    assert clear_stale_build(tmp_path / "no-build-folder") == []
