"""Weekly contentlake table maintenance: one ``spark-submit`` of ``jobs/maintain_tables.py``.

    maintain_tables  (Sundays 12:00 UTC, once the night's daily run is done)

OPTIMIZE (Z-ORDER where ``maintenance.zorder_by`` says), a checkpoint and VACUUM of every
Delta table, keeping every version a kept snapshot names (``contentlake/maintenance.py``).
The task is called like the daily ones (``contentlake_daily.py``): ``--run-date {{ ds }}
--run-id {{ run_id }}``, with the profile, root, packages, ``--conf`` settings and metastore
password resolved on the worker when it runs, and the master from the Airflow connection
``spark_default``. Read when the file is parsed (never Airflow Variables):
``CONTENTLAKE_DAG_RETRIES`` and ``CONTENTLAKE_DAG_RETRY_DELAY_SECONDS``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, CronDataIntervalTimetable

from contentlake.airflow_tasks import ContentlakeJobOperator
from contentlake.dag_settings import default_args

DAG_ID = "contentlake_maintenance"
JOB = "maintain_tables"

with DAG(
    dag_id=DAG_ID,
    description="Weekly OPTIMIZE, checkpoint and VACUUM of the contentlake Delta tables",
    # Noon on Sundays: the daily run of the night has finished, so OPTIMIZE rarely races a
    # MERGE (a lost race is retried anyway), and the week's small files are compacted.
    schedule=CronDataIntervalTimetable("0 12 * * 0", timezone="UTC"),
    start_date=datetime(2026, 1, 4, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(execution_timeout=timedelta(hours=6)),
    tags=["contentlake", "spark", "delta", "maintenance"],
    doc_md=__doc__,
) as dag:
    ContentlakeJobOperator(job=JOB)
