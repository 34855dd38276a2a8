"""The one place a SparkSession is built.

Delta comes in by its Maven coordinates (``spark.jars.packages``) from ``conf/``, so the
same configuration resolves from Maven Central on a user's machine and from a seeded
``~/.m2/repository`` where Central is out of reach.
"""

from __future__ import annotations

import os

from pyspark.sql import SparkSession

from contentlake.config import Config
from contentlake.metastore import metastore_password
from contentlake.observability import show_paths_relative_to
from contentlake.spark_settings import METASTORE_PASSWORD, is_local, spark_conf


def build_spark(cfg: Config) -> SparkSession:
    """Start (or join) the session described by ``cfg`` with Hive catalog support.

    On the local profile the driver logs through ``conf/log4j2.properties``; the console
    lines of the pipeline show paths relative to the lakehouse root from here on.
    """
    show_paths_relative_to(cfg.paths.root)
    settings = spark_conf(cfg)
    if cfg.metastore.kind == "postgres":
        # Read here, in the driver, from its environment: never part of a command line.
        settings[METASTORE_PASSWORD] = metastore_password(cfg)
    if is_local(cfg):
        cfg.paths.metastore.mkdir(parents=True, exist_ok=True)
        # PySpark picks the worker interpreter from the environment, not from the conf.
        os.environ.setdefault("PYSPARK_PYTHON", settings["spark.pyspark.python"])
    builder = SparkSession.builder.appName(cfg.spark.app_name)
    if cfg.spark.master:
        builder = builder.master(cfg.spark.master)
    # Under spark-submit the JVM already holds the packages; in plain Python the builder
    # is what starts the JVM, so it must name them itself.
    settings["spark.jars.packages"] = ",".join(cfg.spark.packages)
    if cfg.spark.jars_excludes:
        settings["spark.jars.excludes"] = ",".join(cfg.spark.jars_excludes)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
