"""spark-submit the jobs with every option from ``conf/``: ad-hoc runs and backfills.

    python -m contentlake.submit ingest_events --run-date 2026-11-01
    python -m contentlake.submit daily --start 2026-11-01 --end 2026-11-07   # backfill
    python -m contentlake.submit publish_index --run-date 2026-11-01 --dry-run

``daily`` first creates any missing table (``create_tables``, idempotent), then runs every
job of the daily pipeline for each date, oldest first, and stops at the first failure (a
failed data-quality gate exits non-zero). Each job is idempotent by run date, so a backfill
can simply be started again after a crash.
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
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)

    if args.run_date:
        run_dates = [args.run_date]
    elif args.start and args.end:
        run_dates = dates_between(args.start, args.end)
    else:
        parser.error("give --run-date, or --start and --end")
    cfg = load_config(profile=args.profile, root=args.root)
    jobs = DAILY_JOBS if args.job == "daily" else (args.job,)
    steps = [(run_date, job) for run_date in run_dates for job in jobs]
    if args.job == "daily":
        steps.insert(0, (run_dates[0], SETUP_JOB))

    for run_date, job in steps:
        job_args = ["--run-date", run_date.isoformat()]
        if args.root:
            job_args += ["--root", str(cfg.paths.root)]
        command = spark_submit_command(cfg, job, job_args)
        print(shlex.join(command), flush=True)
        if args.dry_run:
            continue
        returncode = subprocess.run(command, check=False).returncode
        if returncode != 0:
            print(f"{job} failed for {run_date} (exit {returncode}); stopping", file=sys.stderr)
            return returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
