"""Data-quality checks from ``sql/dq/<table>/<check>.sql``, run after each write.

A check is a SELECT that returns the violating rows (zero rows: pass), with its severity
and description in a comment header::

    -- severity: fail
    -- description: every event refers to a catalogue item
    select event_id, content_id from events where ...

The first column identifies a violating row and is sampled into ``dq_results``. A check may
use ``{run_date}``: it becomes a DATE literal rendered from a ``datetime.date`` object, the
only value ever substituted. (Spark's own named parameters would be the natural binding,
but with Delta's SQL extension installed Spark 4.1 reports them as unbound.)
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from contentlake.config import PROFILES, Config, load_config, validate_identifier
from contentlake.job_cli import JobFailed
from contentlake.tables import SQL_DIR, table_version, use_database

DQ_DIR = SQL_DIR / "dq"
SEVERITIES = ("warn", "fail")
SAMPLE_SIZE = 5

_HEADER = re.compile(r"^--\s*(severity|description)\s*:\s*(.+?)\s*$", re.IGNORECASE)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    table: str
    severity: str
    description: str
    sql: str

    @classmethod
    def from_file(cls, path: Path) -> Check:
        header = {}
        for line in path.read_text().splitlines():
            match = _HEADER.match(line)
            if match:
                header[match.group(1).lower()] = match.group(2)
        severity = header.get("severity", "").lower()
        if severity not in SEVERITIES:
            raise ValueError(f"{path}: severity must be one of {SEVERITIES}, got {severity!r}")
        return cls(
            name=path.stem,
            table=validate_identifier(path.parent.name),
            severity=severity,
            description=header.get("description", ""),
            sql=path.read_text(),
        )


@dataclass(frozen=True)
class CheckResult:
    check: Check
    run_date: date
    table_version: int
    violation_count: int
    sample_keys: tuple[str, ...]
    duration_ms: int

    @property
    def status(self) -> str:
        if self.violation_count == 0:
            return "pass"
        return "fail" if self.check.severity == "fail" else "warn"


class DataQualityError(JobFailed):
    """An error-severity check found violations; nothing downstream should run."""

    def __init__(self, failures: list[CheckResult]):
        self.failures = failures
        lines = [
            f"check {r.check.name} on table {r.check.table} for {r.run_date}: "
            f"{r.violation_count} violating rows (sample keys: {', '.join(r.sample_keys)})"
            f" - {r.check.description}"
            for r in failures
        ]
        super().__init__("data-quality gate failed:\n  " + "\n  ".join(lines))


def load_checks(table: str) -> list[Check]:
    """Every check declared for ``table``, in file-name order."""
    folder = DQ_DIR / validate_identifier(table)
    return [Check.from_file(path) for path in sorted(folder.glob("*.sql"))]


def bind_run_date(sql: str, run_date: date) -> str:
    """Put a DATE literal where the check says ``{run_date}``."""
    if not isinstance(run_date, date):
        raise TypeError(f"run_date must be a datetime.date, got {type(run_date).__name__}")
    return sql.replace("{run_date}", f"DATE '{run_date.isoformat()}'")


def run_check(spark: SparkSession, check: Check, run_date: date, version: int) -> CheckResult:
    """Run one check against ``version`` of its table (the latest, read just before)."""
    started = time.perf_counter()
    violations_df = spark.sql(bind_run_date(check.sql, run_date))
    key = violations_df.columns[0]
    violations_df = violations_df.cache()
    count = violations_df.count()
    samples = [str(row[0]) for row in violations_df.select(key).limit(SAMPLE_SIZE).collect()]
    violations_df.unpersist()
    return CheckResult(
        check=check,
        run_date=run_date,
        table_version=version,
        violation_count=count,
        sample_keys=tuple(samples),
        duration_ms=int((time.perf_counter() - started) * 1000),
    )


def run_table_checks(
    spark: SparkSession,
    cfg: Config,
    table: str,
    run_date: date,
    run_id: str,
    restore_version: int | None = None,
) -> list[CheckResult]:
    """Run, record and gate: raises :class:`DataQualityError` if a ``fail`` check fails.

    With ``restore_version`` (the table's version before the job wrote), a failed gate
    first RESTOREs the table to it, so the run's data does not stay visible downstream;
    the table's history keeps both the write and the restore.
    """
    version = table_version(spark, table)
    results = [run_check(spark, check, run_date, version) for check in load_checks(table)]
    for result in results:
        log = logger.warning if result.status != "pass" else logger.info
        log(
            "dq %s.%s: %s (%d violations)",
            table,
            result.check.name,
            result.status,
            result.violation_count,
        )
    record_results(spark, cfg, results, run_id)
    failures = [result for result in results if result.status == "fail"]
    if failures:
        if restore_version is not None and version != restore_version:
            logger.warning("restoring %s to version %d after a failed gate", table, restore_version)
            spark.sql(f"restore table {table} to version as of {int(restore_version)}")
        raise DataQualityError(failures)
    return results


def record_results(
    spark: SparkSession, cfg: Config, results: list[CheckResult], run_id: str
) -> None:
    """Upsert into ``dq_results``: one row per run date, table and check."""
    if not results:
        return
    checked_at = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [
        (
            run_id,
            r.run_date,
            r.check.table,
            r.table_version,
            r.check.name,
            r.check.severity,
            r.violation_count,
            list(r.sample_keys),
            r.status,
            r.duration_ms,
            checked_at,
        )
        for r in results
    ]
    results_df = spark.createDataFrame(
        rows,
        "run_id string, run_date date, table_name string, table_version bigint, "
        "check_name string, severity string, violation_count bigint, "
        "sample_keys array<string>, status string, duration_ms bigint, checked_at timestamp",
    )
    (
        DeltaTable.forName(spark, f"{cfg.database}.dq_results")
        .alias("t")
        .merge(
            results_df.alias("s"),
            "t.run_date = s.run_date and t.table_name = s.table_name "
            "and t.check_name = s.check_name",
        )
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def main(argv: list[str] | None = None) -> int:
    """Run the checks of one table for one date on demand (recorded like a pipeline run).

    python -m contentlake.quality events --run-date 2026-11-02
    """
    parser = argparse.ArgumentParser(description="Run a table's data-quality checks on demand")
    parser.add_argument("table", choices=sorted(p.name for p in DQ_DIR.iterdir() if p.is_dir()))
    parser.add_argument("--run-date", required=True, type=date.fromisoformat)
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--profile", choices=PROFILES, default=None)
    parser.add_argument("--root", default=None)
    args = parser.parse_args(argv)
    cfg = load_config(profile=args.profile, root=args.root)

    from contentlake.session import build_spark

    spark = build_spark(cfg)
    try:
        use_database(spark, cfg)
        run_id = args.run_id or f"on_demand__{args.run_date.isoformat()}"
        results = run_table_checks(spark, cfg, args.table, args.run_date, run_id)
    except DataQualityError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    for result in results:
        print(
            f"{result.status:<5} {args.table}.{result.check.name}: "
            f"{result.violation_count} violations {list(result.sample_keys)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
