"""Daily contentlake pipeline: one ``spark-submit`` per job for the run's logical date.

    landing_ready (sensor) ─┐
    create_tables ──────────┴> ingest_catalog >> [ingest_events, extract_keyframes]
    ingest_events >> [build_features, embed_content, embed_behaviour]
    extract_keyframes >> embed_media
    [embed_content, embed_media, embed_behaviour] >> fuse_vectors
    [build_features, fuse_vectors] >> resolve_entities >> publish_index
    [build_features, publish_index] >> measure_drift

``landing_ready`` waits, in reschedule mode, until the day's ``catalog`` and ``events`` landing
folders both hold the producer's ``_SUCCESS`` marker (``contentlake.landing_ready``), so a day
still being delivered is never ingested half-way. Each job task runs
``contentlake/jobs/<job>.py --run-date {{ ds }} --run-id {{ run_id }} --profile <profile>
--root <root>`` through ``spark-submit``; the master comes from the Airflow connection
``spark_default`` (host ``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://https://...``;
extra ``deploy-mode``, ``spark-binary``), for example::

    export AIRFLOW_CONN_SPARK_DEFAULT='{"conn_type": "spark", "host": "local[2]"}'

This file only wires tasks. Profile, lakehouse root, interpreter, packages, ``--conf``
settings and the metastore password are resolved on the worker when a task runs
(``contentlake.airflow_tasks``): ``CONTENTLAKE_PROFILE``, ``CONTENTLAKE_ROOT`` and
``CONTENTLAKE_CONF`` there, the password from ``CONTENTLAKE_METASTORE_PASSWORD`` or the
connection ``contentlake_metastore``. Read here, when the file is parsed (environment, never
Airflow Variables): ``CONTENTLAKE_DAG_RETRIES`` (2), ``CONTENTLAKE_DAG_RETRY_DELAY_SECONDS``
(120, exponential backoff), ``CONTENTLAKE_DAG_MAX_ACTIVE_TASKS`` and the sensor's
``CONTENTLAKE_LANDING_POKE_SECONDS`` / ``CONTENTLAKE_LANDING_TIMEOUT_SECONDS``.

The ingests depend on their own previous run (``depends_on_past``) and one DAG run is
active at a time, so a backfill ingests its days oldest first (docs/airflow.md). Jobs exit
non-zero when a data-quality gate fails: the task fails after its retries and every
downstream task ends ``upstream_failed``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, CronDataIntervalTimetable

from contentlake.airflow_tasks import ContentlakeJobOperator, LandingReadySensor
from contentlake.dag_settings import ORDERED_TASKS, default_args, max_active_tasks

DAG_ID = "contentlake_daily"

# Job -> the jobs it needs, in dependency order.
JOB_UPSTREAMS: dict[str, tuple[str, ...]] = {
    # DDL once per lakehouse, idempotent: the daily jobs only verify that tables exist.
    "create_tables": (),
    "ingest_catalog": ("create_tables",),
    "ingest_events": ("ingest_catalog",),
    # Keyframes of the catalogue's posters and videos (docs/media.md).
    "extract_keyframes": ("ingest_catalog",),
    "build_features": ("ingest_events",),
    "embed_content": ("ingest_events",),
    # The visual and behaviour modalities, and the fused vector publish_index indexes.
    "embed_media": ("extract_keyframes",),
    "embed_behaviour": ("ingest_events",),
    "fuse_vectors": ("embed_content", "embed_media", "embed_behaviour"),
    # Duplicates -> canonical ids (docs/entities.md); its entity features reconcile with
    # build_features' item features of the same date.
    "resolve_entities": ("fuse_vectors", "build_features"),
    "publish_index": ("resolve_entities",),
    # Drift of the day's features, events, embeddings and snapshot against their baselines.
    "measure_drift": ("build_features", "publish_index"),
}

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
    max_active_tasks=max_active_tasks(),
    default_args=default_args(execution_timeout=timedelta(hours=3)),
    tags=["contentlake", "spark", "delta"],
    doc_md=__doc__,
) as dag:
    tasks = {
        job: ContentlakeJobOperator(job=job, depends_on_past=job in ORDERED_TASKS)
        for job in JOB_UPSTREAMS
    }
    for job, upstreams in JOB_UPSTREAMS.items():
        for upstream in upstreams:
            tasks[upstream] >> tasks[job]
    LandingReadySensor(task_id="landing_ready") >> tasks["ingest_catalog"]
