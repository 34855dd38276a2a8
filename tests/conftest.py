"""One Spark session for the whole test run; each test module gets its own database."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from contentlake.config import Config, load_config

# py4j logs at INFO while the session shuts down, after pytest has closed its captures.
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def spark_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lake")


@pytest.fixture(scope="session")
def spark(spark_root):
    from contentlake.session import build_spark

    session = build_spark(load_config(profile="local", root=spark_root))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def lake_cfg(spark, tmp_path, request) -> Config:
    """A config whose landing and snapshot folders are the test's own, with a fresh
    database in the session's warehouse (warehouse and metastore are fixed per session)."""
    database = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:60]
    spark.sql(f"drop database if exists {database} cascade")
    return load_config(profile="local", root=tmp_path, overrides={"database": database})
