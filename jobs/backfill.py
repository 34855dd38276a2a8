"""Every daily job for each date of a range, oldest first, in ONE Spark application.

    python -m contentlake.submit daily --start 2026-11-01 --end 2026-11-30 --one-application

The per-job submits of ``contentlake.submit daily`` (and the DAG's tasks) pay a JVM start,
the package resolution and, on a cluster, the unpacking of the executors' environment for
every job of every day; a long backfill pays them once here. Same jobs, same order, same
results: each job is idempotent by run date, so a backfill that stops at a failed gate or a
crash is simply started again. Missing tables are created first, as the DAG's first task does.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date

from contentlake.config import add_lakehouse_options, load_config
from contentlake.errors import JobFailed
from contentlake.job_runs import default_run_id
from contentlake.observability import configure_logging


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", required=True, type=date.fromisoformat)
    parser.add_argument("--end", required=True, type=date.fromisoformat)
    add_lakehouse_options(parser)
    args = parser.parse_args(argv)

    from contentlake.pipeline import run_daily  # pyspark only once arguments are valid
    from contentlake.session import build_spark
    from contentlake.submit import dates_between
    from contentlake.tables import ensure_tables

    cfg = load_config(profile=args.profile, root=args.root)
    run_dates = dates_between(args.start, args.end)
    spark = build_spark(cfg)
    try:
        ensure_tables(spark, cfg)
        for run_date in run_dates:
            run_daily(spark, cfg, run_date, default_run_id(run_date))
    except JobFailed as failure:
        logging.getLogger("contentlake").error("%s", failure)
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    print(f"backfilled {len(run_dates)} day(s): {run_dates[0]} .. {run_dates[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
