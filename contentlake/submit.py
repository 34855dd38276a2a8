"""spark-submit the jobs with every option from ``conf/``: ad-hoc runs and backfills.

    python -m contentlake.submit ingest_events --run-date 2026-11-01
    python -m contentlake.submit daily --start 2026-11-01 --end 2026-11-07   # backfill
    python -m contentlake.submit publish_index --run-date 2026-11-01 --dry-run
    python -m contentlake.submit daily --start 2026-11-01 --end 2026-11-30 --one-application

``daily`` first creates any missing table (``create_tables``, idempotent), then runs every
job of the daily pipeline for each date, oldest first, and stops at the first failure (a
failed data-quality gate exits non-zero). Each job is idempotent by run date, so a backfill
can simply be started again after a crash. ``--one-application`` runs the same jobs in one
spark-submit (``jobs/backfill.py``): one JVM start and, on a cluster, one unpacking of the
executors' environment for the whole range instead of one per job and day.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from datetime import date, timedelta

from contentlake.config import PROFILES, load_config
from contentlake.jobs import DAILY_JOBS, SETUP_JOB, WEEKLY_JOBS
from contentlake.spark_settings import spark_submit_command

# jobs/backfill.py: every daily job of a date range in one application.
BACKFILL_APPLICATION = "backfill"


def dates_between(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=(SETUP_JOB, *DAILY_JOBS, *WEEKLY_JOBS, "daily"))
    parser.add_argument("--run-date", type=date.fromisoformat, help="one date (YYYY-MM-DD)")
    parser.add_argument("--start", type=date.fromisoformat, help="first date of a range")
    parser.add_argument("--end", type=date.fromisoformat, help="last date of a range")
    parser.add_argument("--profile", choices=PROFILES, default=None)
    parser.add_argument("--root", default=None)
    parser.add_argument(
        "--one-application",
        action="store_true",
        help="daily only: every job of every date in one spark-submit (jobs/backfill.py)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)

    if args.run_date:
        run_dates = [args.run_date]
    elif args.start and args.end:
        run_dates = dates_between(args.start, args.end)
    else:
        parser.error("give --run-date, or --start and --end")
    if args.one_application and args.job != "daily":
        parser.error("--one-application goes with daily")
    cfg = load_config(profile=args.profile, root=args.root)
    root_args = ["--root", str(cfg.paths.root)] if args.root else []
    if args.one_application:
        date_args = ["--start", run_dates[0].isoformat(), "--end", run_dates[-1].isoformat()]
        commands = [
            (
                f"the backfill {run_dates[0]} .. {run_dates[-1]}",
                spark_submit_command(cfg, BACKFILL_APPLICATION, [*date_args, *root_args]),
            )
        ]
    else:
        jobs = DAILY_JOBS if args.job == "daily" else (args.job,)
        steps = [(run_date, job) for run_date in run_dates for job in jobs]
        if args.job == "daily":
            steps.insert(0, (run_dates[0], SETUP_JOB))
        commands = [
            (
                f"{job} for {run_date}",
                spark_submit_command(cfg, job, ["--run-date", run_date.isoformat(), *root_args]),
            )
            for run_date, job in steps
        ]

    for label, command in commands:
        print(shlex.join(command), flush=True)
        if args.dry_run:
            continue
        returncode = subprocess.run(command, check=False).returncode
        if returncode != 0:
            print(f"{label} failed (exit {returncode}); stopping", file=sys.stderr)
            return returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
