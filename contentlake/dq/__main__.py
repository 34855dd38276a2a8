"""Run one table's data-quality checks on demand, recorded like a pipeline run.

    python -m contentlake.dq events --run-date 2026-11-02

The results go to ``job_runs`` (so ``dq_results``) under the job name ``check_<table>``;
the exit status is 1 when a fail-severity check fails. Nothing is undone: the command
only reads the table.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from contentlake.config import add_lakehouse_options, load_config
from contentlake.dq.rules import DataQualityError, checked_tables
from contentlake.observability import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a table's data-quality checks on demand")
    parser.add_argument("table", choices=checked_tables())
    parser.add_argument("--run-date", required=True, type=date.fromisoformat)
    parser.add_argument("--run-id", default=None)
    add_lakehouse_options(parser)
    args = parser.parse_args(argv)
    cfg = load_config(profile=args.profile, root=args.root)
    configure_logging()

    from contentlake.job_run import job_run
    from contentlake.session import build_spark

    spark = build_spark(cfg)
    run_id = args.run_id or f"on_demand__{args.run_date.isoformat()}"
    try:
        with job_run(spark, cfg, f"check_{args.table}", args.run_date, run_id) as job:
            results = job.check(args.table)
            job.finish(rows_in=0, rows_written=0, details={"on_demand": "true"})
    except DataQualityError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    for result in results:
        print(
            f"{result.status:<11} {args.table}.{result.check.name}: "
            f"{result.violation_count} violations {list(result.sample_keys)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
