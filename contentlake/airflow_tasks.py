"""The contentlake DAGs' two kinds of task: a job's spark-submit and the landing sensor.

Both resolve everything that depends on the machine when the task runs on the worker, not
when the DAG file is parsed: the profile, the lakehouse root, the Python interpreter, the
``--conf`` settings and packages from ``conf/``, and the metastore password. A DAG file
only wires them, and importing this module loads Airflow and the Spark provider but neither
pyspark nor ``conf/`` (``tests/unit/test_dag_integrity.py`` checks).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import BaseHook, BaseSensorOperator
from airflow.sdk.exceptions import AirflowNotFoundException

from contentlake.dag_settings import (
    METASTORE_CONN_ID,
    PASSWORD_ENV,
    SPARK_CONN_ID,
    job_arguments,
    job_submit_settings,
    landing_sensor_args,
    runtime_config,
)
from contentlake.landing_ready import LANDING_SOURCES, readiness

if TYPE_CHECKING:
    from airflow.sdk import Context

    from contentlake.config import Config

# Operator keyword arguments kept in private attributes by SparkSubmitOperator.__init__.
_PRIVATE_ARGUMENTS = frozenset(
    {"archives", "java_class", "repositories", "num_executors", "total_executor_cores",
     "executor_cores", "executor_memory", "driver_memory"}
)  # fmt: skip


class MetastoreConnectionMismatch(ValueError):
    """The Airflow connection names another metastore than the configuration."""


def metastore_password(cfg: Config) -> str | None:
    """The PostgreSQL metastore's password for the job, or None where it needs none.

    ``$CONTENTLAKE_METASTORE_PASSWORD`` on the worker first (a deployment's secret store),
    else the password of the Airflow connection ``contentlake_metastore`` (the Task SDK
    registers it with the log masker as it reads it). Neither: None, and the job looks for
    the password that ``make metastore-up`` generated, or fails saying what to set.

    The connection's login, host, port and schema, where set, must be those of
    ``metastore.postgres``: a password for another server is refused rather than sent there.
    """
    if cfg.metastore.kind != "postgres":
        return None
    if value := os.environ.get(PASSWORD_ENV):
        return value
    try:
        connection = BaseHook.get_connection(METASTORE_CONN_ID)
    except AirflowNotFoundException:
        return None
    postgres = cfg.metastore.postgres
    expected = {
        "login": postgres.user,
        "host": postgres.host,
        "port": postgres.port,
        "schema": postgres.database,
    }
    for field, value in expected.items():
        given = getattr(connection, field)
        if given not in (None, "") and str(given) != str(value):
            raise MetastoreConnectionMismatch(
                f"Airflow connection {METASTORE_CONN_ID} has {field} {given!r}, but "
                f"metastore.postgres says {value!r}; make them agree (conf/ or a "
                "CONTENTLAKE_CONF overlay for the settings, the connection for the password)"
            )
    return connection.password or None


class ContentlakeJobOperator(SparkSubmitOperator):
    """``spark-submit`` of ``contentlake.jobs.<job>`` for the run's logical date.

    The parsed task knows only the job, the connection and the templated
    ``--run-date {{ ds }} --run-id {{ run_id }}``; :meth:`execute` adds the rest from the
    worker's configuration (:func:`contentlake.dag_settings.job_submit_settings`).
    """

    def __init__(self, *, job: str, **kwargs: Any) -> None:
        kwargs.setdefault("task_id", job)
        super().__init__(
            conn_id=SPARK_CONN_ID,
            name=f"contentlake-{job}",
            application_args=job_arguments(),
            **kwargs,
        )
        self.job = job

    def execute(self, context: Context) -> None:
        self.resolve_on_worker()
        super().execute(context)

    def resolve_on_worker(self) -> None:
        """Fill in the spark-submit call from this machine's configuration and secrets."""
        cfg = runtime_config()
        submit = job_submit_settings(cfg, self.job, metastore_password(cfg))
        # Assignments, never in-place changes: each try runs on a copy of the parsed task,
        # whose lists and dicts it must leave as they are.
        for name, value in submit.spark.items():
            setattr(self, f"_{name}" if name in _PRIVATE_ARGUMENTS else name, value)
        self.application_args = [*(self.application_args or []), *submit.job_args]
        self.env_vars = {**(self.env_vars or {}), **submit.env}
        self.log.info(
            "contentlake %s: profile %s, root %s, python %s",
            self.job,
            cfg.profile,
            cfg.paths.root,
            self.conf.get("spark.pyspark.python", "(the cluster's)"),
        )


class LandingReadySensor(BaseSensorOperator):
    """Waits until every landing source of the logical date carries its completion marker
    (``contentlake.landing_ready``), so that no day is ingested while files still arrive."""

    def __init__(self, *, sources: Sequence[str] = LANDING_SOURCES, **kwargs: Any) -> None:
        super().__init__(**{**landing_sensor_args(), **kwargs})
        self.sources = tuple(sources)

    def poke(self, context: Context) -> bool:
        landing = runtime_config().paths.landing
        state = readiness(landing, date.fromisoformat(context["ds"]), self.sources)
        self.log.info("%s", state.describe(landing))
        return state.ready
