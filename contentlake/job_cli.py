"""The shared ``main()`` of every job: parse arguments, load config, build the session."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import date

from pyspark.sql import SparkSession

from contentlake.config import Config, add_lakehouse_options, load_config
from contentlake.errors import JobFailed
from contentlake.job_runs import JobResult, default_run_id
from contentlake.observability import configure_logging

JobRun = Callable[[SparkSession, Config, date, str], JobResult]


def parse_job_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--run-date",
        required=True,
        type=date.fromisoformat,
        help="logical date of the run, YYYY-MM-DD",
    )
    parser.add_argument(
        "--run-id",
        default=None,
        help="identifier recorded with results (default: manual__<run-date>)",
    )
    add_lakehouse_options(parser)
    return parser.parse_args(argv)


def job_main(run: JobRun, description: str, argv: list[str] | None = None) -> int:
    """Run one job for one date; exit 1 with a readable message when it fails a gate."""
    configure_logging()
    args = parse_job_args(description, argv)
    cfg = load_config(profile=args.profile, root=args.root)
    run_id = args.run_id or default_run_id(args.run_date)

    from contentlake.session import build_spark  # pyspark only once arguments are valid

    spark = build_spark(cfg)
    try:
        result = run(spark, cfg, args.run_date, run_id)
    except JobFailed as failure:
        logging.getLogger("contentlake").error("%s", failure)
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    summary = {key: value for key, value in asdict(result).items() if key != "clock"}
    if result.clock is not None:
        summary["seconds"] = {k: round(v, 2) for k, v in result.clock.summary().items()}
    print(json.dumps(summary, default=str, indent=2))
    return 0
