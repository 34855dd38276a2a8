"""What the contentlake DAGs read when a file is parsed, and what a task resolves when it runs.

Airflow-free and pyspark-free. Two moments, kept apart:

- **Parse time** (the DAG processor, every few minutes): only the DAG's shape and policy, from
  the environment (never Airflow Variables): retries, concurrency, the sensor's timing.
  Nothing here loads ``conf/`` or resolves a path, so parsing stays cheap and a DAG file does
  not freeze the parser's interpreter or working directory into its tasks.
- **Run time** (the worker, when the task starts): :func:`runtime_config` loads the
  configuration for the worker's ``CONTENTLAKE_PROFILE`` / ``CONTENTLAKE_ROOT`` and
  :func:`job_submit_settings` turns it into the spark-submit call of one job: application,
  ``--conf`` settings (the interpreter among them), packages, and the job's environment
  (where the metastore password travels, never on the command line).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contentlake.config import Config

SPARK_CONN_ID = "spark_default"
# Its password is the PostgreSQL metastore's; used when $CONTENTLAKE_METASTORE_PASSWORD is
# not set on the worker (contentlake.airflow_tasks).
METASTORE_CONN_ID = "contentlake_metastore"
PASSWORD_ENV = "CONTENTLAKE_METASTORE_PASSWORD"
# Tasks whose order across logical dates matters: day D is ingested only once day D-1 was
# (bronze and silver MERGE by date; late events land in the day they belong to).
ORDERED_TASKS = ("ingest_catalog", "ingest_events")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def default_args(execution_timeout: timedelta) -> dict[str, object]:
    """Retries with exponential backoff: ``CONTENTLAKE_DAG_RETRIES`` (2) starting after
    ``CONTENTLAKE_DAG_RETRY_DELAY_SECONDS`` (120)."""
    return {
        "owner": "contentlake",
        "depends_on_past": False,
        "retries": _env_int("CONTENTLAKE_DAG_RETRIES", 2),
        "retry_delay": timedelta(seconds=_env_int("CONTENTLAKE_DAG_RETRY_DELAY_SECONDS", 120)),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": execution_timeout,
    }


def max_active_tasks() -> int:
    """``CONTENTLAKE_DAG_MAX_ACTIVE_TASKS``, else 1 under the ``local`` profile (its embedded
    Derby metastore admits one JVM at a time) and 4 elsewhere. Read from the environment,
    not from ``conf/``: the DAG processor must not load the configuration."""
    if value := os.environ.get("CONTENTLAKE_DAG_MAX_ACTIVE_TASKS"):
        return int(value)
    return 1 if os.environ.get("CONTENTLAKE_PROFILE", "local") == "local" else 4


def landing_sensor_args() -> dict[str, object]:
    """How the ``landing_ready`` sensor waits: a poke every
    ``CONTENTLAKE_LANDING_POKE_SECONDS`` (300), in reschedule mode so that no worker slot is
    held in between, for at most ``CONTENTLAKE_LANDING_TIMEOUT_SECONDS`` (6 hours), after
    which the sensor fails and the day is not ingested."""
    return {
        "mode": "reschedule",
        "poke_interval": _env_int("CONTENTLAKE_LANDING_POKE_SECONDS", 300),
        "timeout": _env_int("CONTENTLAKE_LANDING_TIMEOUT_SECONDS", 6 * 3600),
        # A timed-out sensor fails for good; a retry would only wait again.
        "retries": 0,
    }


def job_arguments() -> list[str]:
    """The job's own arguments, templated by Airflow with the run's logical date and id;
    ``--profile`` and ``--root`` follow at run time (:func:`job_submit_settings`)."""
    return ["--run-date", "{{ ds }}", "--run-id", "{{ run_id }}"]


def runtime_config() -> Config:
    """The configuration of the machine the task runs on: ``CONTENTLAKE_PROFILE`` (default
    ``local``), ``CONTENTLAKE_ROOT`` (default ``paths.root``), ``CONTENTLAKE_CONF``."""
    from contentlake.config import load_config

    return load_config(
        profile=os.environ.get("CONTENTLAKE_PROFILE") or None,
        root=os.environ.get("CONTENTLAKE_ROOT") or None,
    )


@dataclass(frozen=True)
class JobSubmit:
    """One job's spark-submit call, as resolved on the worker."""

    # SparkSubmitOperator keyword arguments: application, name, conf, packages, ...
    spark: dict[str, object]
    # Appended to the templated job_arguments().
    job_args: tuple[str, ...]
    # The spark-submit process's environment, on top of the worker's own.
    env: dict[str, str]


def job_submit_settings(cfg: Config, job: str, metastore_password: str | None = None) -> JobSubmit:
    """The spark-submit call of ``job`` under ``cfg``, resolved on the worker.

    The master is not part of it (the ``spark_default`` connection names it). ``env`` carries
    the profile, the resolved root, the metastore kind and, when given, the metastore
    password: the provider hands a task's environment to spark-submit's process (on YARN and
    Kubernetes as ``...Env.<NAME>`` settings, which it masks in its log because the name
    says PASSWORD), while ``conf`` and the arguments are printed in the task log as they are.
    """
    from contentlake.spark_settings import spark_submit_operator_kwargs

    root = str(cfg.paths.root)
    # The job must use the metastore whose settings the task resolved.
    env = {
        "CONTENTLAKE_PROFILE": cfg.profile,
        "CONTENTLAKE_ROOT": root,
        "CONTENTLAKE_METASTORE": cfg.metastore.kind,
    }
    if metastore_password:
        env[PASSWORD_ENV] = metastore_password
    return JobSubmit(
        spark=spark_submit_operator_kwargs(cfg, job),
        job_args=("--profile", cfg.profile, "--root", root),
        env=env,
    )
