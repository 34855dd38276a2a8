"""Daily contentlake pipeline: one ``spark-submit`` per job for the run's logical date.

    create_tables >> ingest_catalog >> ingest_events >> [build_features, embed_content]
    embed_content >> publish_index
    [build_features, publish_index] >> measure_drift

Each task is a ``SparkSubmitOperator`` running ``jobs/<job>.py --run-date {{ ds }}
--run-id {{ run_id }} --profile <profile> --root <root>``. Packages, excluded packages and
``--conf`` settings come from ``conf/`` (``contentlake.spark_settings``), the same ones
``spark_submit_command`` builds for a manual run. The master comes from the Airflow
connection ``spark_default``: its host is the master URL (``local[2]``, ``yarn``,
``spark://host:7077``, ``k8s://https://...``) and its extra may set ``spark-binary``
(``spark-submit`` on the workers' PATH by default) and ``deploy-mode``. For example::

    export AIRFLOW_CONN_SPARK_DEFAULT='{"conn_type": "spark", "host": "local[2]"}'

Environment read when the file is parsed (never Airflow Variables, so parsing stays cheap):

- ``CONTENTLAKE_PROFILE`` (default ``local``) and ``CONTENTLAKE_ROOT`` (default the
  ``paths.root`` of ``conf/``): which configuration and lakehouse the jobs use; both are
  passed on to every task's environment and command line.
- ``CONTENTLAKE_DAG_RETRIES`` (default 2) and ``CONTENTLAKE_DAG_RETRY_DELAY_SECONDS``
  (default 120): retries with exponential backoff per task.

Jobs exit non-zero when a data-quality gate fails, which fails the task and leaves every
downstream task ``upstream_failed``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, CronDataIntervalTimetable

from contentlake.dag_settings import config_from_environment, default_args, job_task_kwargs
from contentlake.spark_settings import is_local

DAG_ID = "contentlake_daily"

# Job -> the jobs it needs, in dependency order.
JOB_UPSTREAMS: dict[str, tuple[str, ...]] = {
    # DDL once per lakehouse, idempotent: the daily jobs only verify that tables exist.
    "create_tables": (),
    "ingest_catalog": ("create_tables",),
    "ingest_events": ("ingest_catalog",),
    "build_features": ("ingest_events",),
    "embed_content": ("ingest_events",),
    "publish_index": ("embed_content",),
    # Drift of the day's features, events, embeddings and snapshot against their baselines.
    "measure_drift": ("build_features", "publish_index"),
}

CFG = config_from_environment()

with DAG(
    dag_id=DAG_ID,
    description="Catalogue + events -> features, embeddings and a FAISS index snapshot",
    # @daily with data intervals: the run for day D starts after D ends and {{ ds }} is D
    # (a bare "@daily" is a CronTriggerTimetable in Airflow 3, whose ds is the trigger day).
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    # The local profile keeps an embedded Derby metastore, which only one JVM may open
    # at a time: build_features and embed_content must then take turns.
    max_active_tasks=1 if is_local(CFG) else 4,
    default_args=default_args(execution_timeout=timedelta(hours=3)),
    tags=["contentlake", "spark", "delta", CFG.profile],
    doc_md=__doc__,
) as dag:
    tasks = {job: SparkSubmitOperator(**job_task_kwargs(CFG, job)) for job in JOB_UPSTREAMS}
    for job, upstreams in JOB_UPSTREAMS.items():
        for upstream in upstreams:
            tasks[upstream] >> tasks[job]
