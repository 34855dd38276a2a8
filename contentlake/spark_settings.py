"""Spark settings derived from the configuration, for sessions and spark-submit alike.

Kept free of pyspark imports so that Airflow can build spark-submit calls at DAG parse
time without loading Spark.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

from contentlake.config import CONF_DIR, Config
from contentlake.metastore import driver_jar_path, jdbc_url

# jobs/ installs as the package contentlake.jobs (pyproject.toml): in a wheel the scripts
# are site-packages/contentlake/jobs/*.py, in an editable install the checkout's jobs/.
JOBS_DIR = Path(resources.files("contentlake.jobs"))
# Spark's console logging on the local profile: warnings only, without the per-table
# metastore notices (see the file).
LOG4J_CONF = CONF_DIR / "log4j2.properties"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
# JVM options for an application that lives for seconds on small data (a DAG task of a
# test, a job process killed and rerun): such a JVM runs each query plan a few times, and
# most of its CPU went to the C2 compiler's work on code that never ran again. Long-lived
# sessions (the demo, the test session: 351 s against 265 s for 63 tests with C1 only) and
# applications on real data keep the JVM's default tiered compilation.
SHORT_LIVED_JVM_OPTIONS = "-XX:TieredStopAtLevel=1"
# The OpenLineage file transport appends one JSON event per line to this file under
# paths.lineage (contentlake/lineage.py reads it).
LINEAGE_EVENTS_FILE = "events.jsonl"
OPENLINEAGE_LOCATION = "spark.openlineage.transport.location"
METASTORE_PASSWORD = "spark.hadoop.javax.jdo.option.ConnectionPassword"
# The executors' environment: `make env-archive` builds it, spark.archives ships it and
# each executor unpacks it into its working directory under this name.
ENV_ARCHIVE_VARIABLE = "CONTENTLAKE_ENV_ARCHIVE"
ENV_ALIAS = "env"
EXECUTOR_PYTHON = f"./{ENV_ALIAS}/bin/python"


def spark_conf(cfg: Config) -> dict[str, str]:
    """Every Spark setting the configuration implies, packages excluded."""
    conf = {"spark.sql.warehouse.dir": str(cfg.paths.warehouse), **cfg.spark.conf}
    java_options = []
    if cfg.paths.ivy:
        conf["spark.jars.ivy"] = str(cfg.paths.ivy)
    if conf.get("spark.openlineage.transport.type") == "file" and cfg.paths.lineage:
        conf.setdefault(OPENLINEAGE_LOCATION, str(cfg.paths.lineage / LINEAGE_EVENTS_FILE))
    if cfg.metastore.kind == "postgres":
        conf.update(postgres_metastore_conf(cfg))
    elif is_local(cfg):
        # The embedded Derby metastore lives beside the warehouse so that tables are found
        # by name in the next run; clusters bring their own hive-site.xml instead.
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={cfg.paths.metastore}/metastore_db;create=true"
        )
        java_options.append(java_property("derby.system.home", cfg.paths.metastore))
    if is_local(cfg):
        # Python workers must run the interpreter that has this project installed, not
        # whichever python3 happens to be first on PATH.
        conf.setdefault("spark.pyspark.python", sys.executable)
        java_options.append(java_property("log4j2.configurationFile", LOG4J_CONF))
    elif archive := env_archive(cfg):
        conf.update(shipped_environment_conf(conf, archive))
    if java_options:
        # One JVM option string: the settings' own options first, then the derived ones.
        conf[DRIVER_JAVA_OPTIONS] = " ".join(
            filter(None, [conf.get(DRIVER_JAVA_OPTIONS), *java_options])
        )
    return conf


def java_property(name: str, value: object) -> str:
    """``-Dname=value`` for ``extraJavaOptions``, quoted when a path holds blanks (Spark
    splits the option string on blanks outside quotes)."""
    option = f"-D{name}={value}"
    return f'"{option}"' if any(c.isspace() for c in option) else option


def postgres_metastore_conf(cfg: Config) -> dict[str, str]:
    """The Hive client settings for the shared PostgreSQL metastore (``metastore.kind``).

    DataNucleus creates the metastore tables in the empty database as they are first used,
    so no Hive ``schematool`` is needed; the schema check is off because nothing records its
    version. The password is not among them: settings end up on spark-submit's command line
    and in task logs, so the driver adds it when its session starts (``contentlake.session``,
    ``METASTORE_PASSWORD``).

    Tables and columns only, not foreign keys (``autoCreateAll`` would add them):
    DataNucleus creates a table lazily on a second connection while the first holds an open
    transaction, and on PostgreSQL ``ALTER TABLE ... ADD CONSTRAINT ... REFERENCES "TBLS"``
    then waits forever for the lock that the first connection's insert into TBLS holds (seen
    on the first CREATE TABLE of a job). Hive deletes dependent rows itself, so nothing
    relies on the keys.
    """
    postgres = cfg.metastore.postgres
    return {
        "spark.hadoop.javax.jdo.option.ConnectionURL": jdbc_url(postgres),
        "spark.hadoop.javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "spark.hadoop.javax.jdo.option.ConnectionUserName": postgres.user,
        "spark.hadoop.datanucleus.schema.autoCreateAll": "false",
        "spark.hadoop.datanucleus.schema.autoCreateTables": "true",
        "spark.hadoop.datanucleus.schema.autoCreateColumns": "true",
        "spark.hadoop.datanucleus.schema.autoCreateConstraints": "false",
        "spark.hadoop.hive.metastore.schema.verification": "false",
        # The driver must be on the JVM's own class path; `--packages` is not enough. With
        # Java 17 the builtin Hive client is not isolated, so DataNucleus' connection pool
        # (commons-dbcp from pyspark/jars, on the system class path) calls DriverManager,
        # which only hands out drivers that the caller's class loader can see: the jars of
        # `--packages` live in a child loader, and the pool fails with "No suitable driver".
        # The class path is fixed when the JVM starts, before Spark resolves packages, so
        # it names a copy kept with the metastore (`python -m contentlake.metastore up`).
        "spark.driver.extraClassPath": str(driver_jar_path(cfg)),
    }


def env_archive(cfg: Config) -> str | None:
    """Where the executors' environment archive is: ``$CONTENTLAKE_ENV_ARCHIVE``, else
    ``spark.env_archive``; read when the command is built. A URI (``hdfs://``, ``s3a://``,
    ``file:``...) is passed on as is; a plain path is made absolute, since spark-submit may
    run from another folder than the one it was configured in."""
    value = os.environ.get(ENV_ARCHIVE_VARIABLE) or cfg.spark.env_archive
    if not value:
        return None
    if len(urlparse(value).scheme) > 1:
        return value
    return str(Path(value).expanduser().resolve())


def shipped_environment_conf(conf: dict[str, str], archive: str) -> dict[str, str]:
    """Spark settings that ship ``archive`` to every executor and run their Python from it.

    Spark unpacks each ``spark.archives`` entry into the executor's working directory under
    its ``#`` name, so ``./env/bin/python`` is the shipped interpreter on any worker; no
    worker needs this project installed or the driver's interpreter. In client mode the
    driver runs on the submitting machine, whose own interpreter (the one building this
    command, which has the project installed) runs its Python; in cluster mode the driver
    is in a container of the cluster and unpacks the archive like an executor.
    Explicit settings in ``spark.conf`` win.
    """
    archives = [conf["spark.archives"]] if conf.get("spark.archives") else []
    shipped = {
        "spark.archives": ",".join([*archives, f"{archive}#{ENV_ALIAS}"]),
        "spark.pyspark.python": conf.get("spark.pyspark.python", EXECUTOR_PYTHON),
    }
    if conf.get("spark.submit.deployMode", "client") == "client":
        shipped["spark.pyspark.driver.python"] = conf.get(
            "spark.pyspark.driver.python", sys.executable
        )
    return shipped


def is_local(cfg: Config) -> bool:
    return bool(cfg.spark.master and cfg.spark.master.startswith("local"))


def job_script(job: str) -> Path:
    script = JOBS_DIR / f"{job}.py"
    if not script.is_file():
        raise ValueError(f"no job named {job!r} (looked for {script})")
    return script


def spark_submit_command(cfg: Config, job: str, job_args: list[str]) -> list[str]:
    """The spark-submit argv that runs ``jobs/<job>.py`` with this configuration."""
    command = ["spark-submit", "--name", f"contentlake-{job}"]
    if cfg.spark.master:
        command += ["--master", cfg.spark.master]
    if cfg.spark.packages:
        command += ["--packages", ",".join(cfg.spark.packages)]
    if cfg.spark.jars_excludes:
        command += ["--exclude-packages", ",".join(cfg.spark.jars_excludes)]
    for key, value in spark_conf(cfg).items():
        command += ["--conf", f"{key}={value}"]
    return [*command, str(job_script(job)), "--profile", cfg.profile, *job_args]


def spark_submit_operator_kwargs(cfg: Config, job: str) -> dict[str, object]:
    """Keyword arguments for Airflow's ``SparkSubmitOperator`` that run ``jobs/<job>.py``.

    The same options as :func:`spark_submit_command` except the master, which the operator
    takes from its Spark connection (``host`` such as ``local[2]``, ``yarn`` or
    ``spark://host:7077``), and the job's own arguments, which the DAG templates.
    """
    kwargs: dict[str, object] = {
        "application": str(job_script(job)),
        "name": f"contentlake-{job}",
        "conf": spark_conf(cfg),
    }
    if cfg.spark.packages:
        kwargs["packages"] = ",".join(cfg.spark.packages)
    if cfg.spark.jars_excludes:
        kwargs["exclude_packages"] = ",".join(cfg.spark.jars_excludes)
    return kwargs
