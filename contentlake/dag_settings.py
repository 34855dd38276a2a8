"""What every contentlake DAG file reads when it is parsed, and how it calls a job.

Airflow-free and pyspark-free, so a DAG file stays cheap to parse: configuration from the
environment (never Airflow Variables), the retry policy, and a task's ``SparkSubmitOperator``
keyword arguments for ``jobs/<job>.py --run-date {{ ds }} --run-id {{ run_id }} ...``.
"""

from __future__ import annotations

import os
from datetime import timedelta

from contentlake.config import Config, load_config
from contentlake.spark_settings import spark_submit_operator_kwargs

SPARK_CONN_ID = "spark_default"


def config_from_environment() -> Config:
    """``CONTENTLAKE_PROFILE`` (default ``local``) and ``CONTENTLAKE_ROOT`` (default the
    configured ``paths.root``)."""
    return load_config(
        profile=os.environ.get("CONTENTLAKE_PROFILE") or None,
        root=os.environ.get("CONTENTLAKE_ROOT") or None,
    )


def default_args(execution_timeout: timedelta) -> dict[str, object]:
    """Retries with exponential backoff: ``CONTENTLAKE_DAG_RETRIES`` (2) starting after
    ``CONTENTLAKE_DAG_RETRY_DELAY_SECONDS`` (120)."""
    delay = int(os.environ.get("CONTENTLAKE_DAG_RETRY_DELAY_SECONDS", "120"))
    return {
        "owner": "contentlake",
        "depends_on_past": False,
        "retries": int(os.environ.get("CONTENTLAKE_DAG_RETRIES", "2")),
        "retry_delay": timedelta(seconds=delay),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": execution_timeout,
    }


def job_task_kwargs(cfg: Config, job: str) -> dict[str, object]:
    """A ``SparkSubmitOperator``'s arguments for ``job`` on the DAG run's logical date;
    the master comes from the Airflow connection ``spark_default``."""
    return {
        "task_id": job,
        "conn_id": SPARK_CONN_ID,
        "application_args": [
            "--run-date",
            "{{ ds }}",
            "--run-id",
            "{{ run_id }}",
            "--profile",
            cfg.profile,
            "--root",
            str(cfg.paths.root),
        ],
        "env_vars": {"CONTENTLAKE_PROFILE": cfg.profile, "CONTENTLAKE_ROOT": str(cfg.paths.root)},
        **spark_submit_operator_kwargs(cfg, job),
    }
