"""Weekly contentlake table maintenance: one ``spark-submit`` of ``jobs/maintain_tables.py``.

    maintain_tables  (Sundays 12:00 UTC, once the night's daily run is done)

OPTIMIZE (Z-ORDER where ``maintenance.zorder_by`` says), a checkpoint and VACUUM of every
Delta table, keeping every version a kept snapshot names (``contentlake/maintenance.py``).
The task is called like the daily ones: ``--run-date {{ ds }} --run-id {{ run_id }}
--profile <profile> --root <root>``, with packages and ``--conf`` settings from ``conf/``
and the master from the Airflow connection ``spark_default`` (see ``contentlake_daily.py``).

Environment read when the file is parsed (never Airflow Variables): ``CONTENTLAKE_PROFILE``,
``CONTENTLAKE_ROOT``, ``CONTENTLAKE_DAG_RETRIES`` and ``CONTENTLAKE_DAG_RETRY_DELAY_SECONDS``,
as for the daily DAG.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, CronDataIntervalTimetable

from contentlake.config import load_config
from contentlake.spark_settings import spark_submit_operator_kwargs

DAG_ID = "contentlake_maintenance"
SPARK_CONN_ID = "spark_default"
JOB = "maintain_tables"

CFG = load_config(
    profile=os.environ.get("CONTENTLAKE_PROFILE") or None,
    root=os.environ.get("CONTENTLAKE_ROOT") or None,
)
RETRIES = int(os.environ.get("CONTENTLAKE_DAG_RETRIES", "2"))
RETRY_DELAY = timedelta(seconds=int(os.environ.get("CONTENTLAKE_DAG_RETRY_DELAY_SECONDS", "120")))

default_args = {
    "owner": "contentlake",
    "depends_on_past": False,
    "retries": RETRIES,
    "retry_delay": RETRY_DELAY,
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=6),
}

with DAG(
    dag_id=DAG_ID,
    description="Weekly OPTIMIZE, checkpoint and VACUUM of the contentlake Delta tables",
    # Noon on Sundays: the daily run of the night has finished, so OPTIMIZE rarely races a
    # MERGE (a lost race is retried anyway), and the week's small files are compacted.
    schedule=CronDataIntervalTimetable("0 12 * * 0", timezone="UTC"),
    start_date=datetime(2026, 1, 4, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["contentlake", "spark", "delta", "maintenance", CFG.profile],
    doc_md=__doc__,
) as dag:
    SparkSubmitOperator(
        task_id=JOB,
        conn_id=SPARK_CONN_ID,
        application_args=[
            "--run-date",
            "{{ ds }}",
            "--run-id",
            "{{ run_id }}",
            "--profile",
            CFG.profile,
            "--root",
            str(CFG.paths.root),
        ],
        env_vars={"CONTENTLAKE_PROFILE": CFG.profile, "CONTENTLAKE_ROOT": str(CFG.paths.root)},
        **spark_submit_operator_kwargs(CFG, JOB),
    )
