"""Running a job a second time for a date leaves every table exactly as it was.

Tables are compared by ``content_hash`` (row multiset over all columns); the only columns
left out are the run metadata listed in ``conftest.RUN_METADATA``: ``job_runs.finished_at``
and ``checks`` (hashed through ``dq_results``), and ``dq_results.checked_at``,
``duration_ms`` and ``table_version``.
"""

import importlib

import pytest
from contentlake.jobs import DAILY_JOBS

from contentlake.config import load_config
from contentlake.pipeline import run_daily
from contentlake.sample_data import SampleSpec, generate
from contentlake.tables import ensure_tables

# The whole pipeline for a day, then a rerun of each job: about 5 minutes.
pytestmark = pytest.mark.slow

# One day: every job reruns on top of its own output. Reruns of a second day that builds
# on the first (ingest_events, build_features) are in test_concurrent_writers.py.
# Media for a few items, with one bad file of each kind: content_keyframes fills too.
SPEC = SampleSpec(items=30, days=1, users=15, events_per_day=100, seed=5, media_items=10)
LAST_DAY = SPEC.landing_dates()[-1]


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory, tiny_model):
    """The sample day through the whole pipeline, once."""
    spark.sql("drop database if exists t_idempotency cascade")
    cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("idempotency"),
        overrides={"database": "t_idempotency", **tiny_model},
    )
    generate(cfg.paths.landing, SPEC)
    ensure_tables(spark, cfg)
    for day in SPEC.landing_dates():
        run_daily(spark, cfg, day)
    return cfg


# Jobs that account for the work this run did rather than for the state they keep: on a rerun
# over unchanged inputs they write nothing and say so.
ACCOUNTS_ITS_OWN_WORK = (
    "embed_content", "extract_keyframes", "embed_media", "embed_behaviour", "fuse_vectors",
)  # fmt: skip


def lake_state(spark, cfg, hash_lake, read_snapshots):
    hashes = hash_lake(lambda table: spark.table(f"{cfg.database}.{table}"))
    return hashes, read_snapshots(cfg.paths.snapshots)


def job_accounting(spark, cfg):
    rows = spark.table(f"{cfg.database}.job_runs").collect()
    return {(r.job, r.run_date): (r.rows_in, r.rows_written, r.rows_quarantined) for r in rows}


@pytest.mark.parametrize("job", DAILY_JOBS)
def test_a_second_run_of_a_job_changes_no_table(spark, lake, job, hash_lake, read_snapshots):
    before = lake_state(spark, lake, hash_lake, read_snapshots)
    accounting_before = job_accounting(spark, lake)
    assert not [table for table, digest in before[0].items() if digest.startswith("0:")]

    importlib.import_module(f"contentlake.jobs.{job}").run(spark, lake, LAST_DAY)

    after = lake_state(spark, lake, hash_lake, read_snapshots)
    changed = [table for table in before[0] if after[0][table] != before[0][table]]
    if job in ACCOUNTS_ITS_OWN_WORK:
        # Its accounting is what this run embedded or fitted: nothing, the inputs are
        # unchanged. That row of job_runs is the only change the rerun may make.
        accounting_after = job_accounting(spark, lake)
        rows_in, rows_written, rows_quarantined = accounting_after.pop((job, LAST_DAY))
        assert accounting_after == {
            key: value for key, value in accounting_before.items() if key != (job, LAST_DAY)
        }
        assert (rows_written, rows_quarantined) == (0, 0)
        # What it read: nothing, or (for a fit over the whole window) the same ratings.
        assert rows_in in (0, accounting_before[(job, LAST_DAY)][0])
        assert changed in ([], ["job_runs"])
    else:
        assert changed == []
    assert after[1] == before[1]
