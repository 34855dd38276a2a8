"""Data-quality checks from ``sql/dq/<table>/<check>.sql``: one assertion per file.

A check is a SELECT that returns the violating rows (zero rows: pass). A comment header
declares its severity, its kind and what it asserts::

    -- severity: quarantine
    -- kind: row
    -- description: a single event never claims more than a day of watching
    select event_id from events
    where _ingest_date = {run_date} and watch_seconds > 86400

Kinds:

* ``row`` checks judge each row on its own and are written exactly as
  ``select <key columns> from <table> where <predicate>``. All row checks of a table run
  together in one scan (one ``count_if`` per predicate), not one query per check.
* ``table`` checks (the default) are any SELECT: unique keys, volume against history,
  freshness, distribution shift. An optional ``-- observe:`` header holds a scalar query
  whose value is recorded in ``dq_results.observed_value`` on every run, so later runs can
  compare against the history (the volume check does).

Severities: ``warn`` records and goes on; ``quarantine`` (row checks only) moves violating
rows to the table's quarantine table before the write commits (see
:func:`quarantine_rules`); ``fail`` stops the run, restores the table to its version before
the job, and raises :class:`DataQualityError`.

``{run_date}`` becomes a DATE literal rendered from a ``datetime.date`` object, the only
value ever substituted; the rest of the SQL comes from reviewed files in the repository,
never from run-time input. (Spark's own named parameters would be the natural binding, but
with Delta's SQL extension installed Spark 4.1 reports them as unbound.)
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
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from contentlake.config import PROFILES, Config, load_config, validate_identifier
from contentlake.delta_commits import commit_with_retry
from contentlake.job_cli import JobFailed
from contentlake.tables import SQL_DIR, require_table, table_version, use_database

DQ_DIR = SQL_DIR / "dq"
SEVERITIES = ("warn", "quarantine", "fail")
KINDS = ("row", "table")
SAMPLE_SIZE = 5

_HEADER = re.compile(r"^--\s*(severity|description|kind|observe)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_ROW_CHECK = re.compile(
    r"^\s*select\s+(?P<columns>.+?)\s+from\s+(?P<table>\w+)\s+where\s+(?P<predicate>.+?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_RUN_SLICE = re.compile(
    r"^\s*(?P<slice>\w+\s*=\s*\{run_date\})\s+and\s+(?P<rest>.+)$", re.IGNORECASE | re.DOTALL
)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    table: str
    severity: str
    description: str
    sql: str
    kind: str = "table"
    observe: str | None = None
    predicate: str | None = None  # row checks: the WHERE clause, violations when true

    @classmethod
    def from_file(cls, path: Path) -> Check:
        header = {}
        body = []
        for line in path.read_text().splitlines():
            match = _HEADER.match(line)
            if match:
                header[match.group(1).lower()] = match.group(2)
            elif not line.lstrip().startswith("--"):
                body.append(line)
        table = validate_identifier(path.parent.name)
        severity = header.get("severity", "").lower()
        kind = header.get("kind", "table").lower()
        if severity not in SEVERITIES:
            raise ValueError(f"{path}: severity must be one of {SEVERITIES}, got {severity!r}")
        if kind not in KINDS:
            raise ValueError(f"{path}: kind must be one of {KINDS}, got {kind!r}")
        sql = "\n".join(body).strip()
        predicate = None
        if kind == "row":
            match = _ROW_CHECK.match(sql)
            if not match or match.group("table").lower() != table.lower():
                raise ValueError(
                    f"{path}: a row check must read 'select <columns> from {table} "
                    "where <predicate>'"
                )
            predicate = match.group("predicate")
        elif severity == "quarantine":
            raise ValueError(f"{path}: only row checks can quarantine rows")
        return cls(
            name=path.stem,
            table=table,
            severity=severity,
            description=header.get("description", ""),
            sql=sql,
            kind=kind,
            observe=header.get("observe"),
            predicate=predicate,
        )


@dataclass(frozen=True)
class CheckResult:
    check: Check
    run_date: date
    table_version: int
    violation_count: int
    sample_keys: tuple[str, ...]
    duration_ms: int
    observed_value: float | None = None

    @property
    def status(self) -> str:
        if self.violation_count == 0:
            return "pass"
        return {"fail": "fail", "quarantine": "quarantined"}.get(self.check.severity, "warn")


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


def checked_tables() -> list[str]:
    """Every table that has a folder of checks."""
    return sorted(path.name for path in DQ_DIR.iterdir() if path.is_dir())


def load_checks(table: str) -> list[Check]:
    """Every check declared for ``table``, in file-name order."""
    if table not in checked_tables():
        raise ValueError(f"no data-quality checks for table {table!r} (see {DQ_DIR})")
    folder = DQ_DIR / table
    return [Check.from_file(path) for path in sorted(folder.glob("*.sql"))]


def bind_run_date(sql: str, run_date: date) -> str:
    """Put a DATE literal where the check says ``{run_date}``."""
    if not isinstance(run_date, date):
        raise TypeError(f"run_date must be a datetime.date, got {type(run_date).__name__}")
    return sql.replace("{run_date}", f"DATE '{run_date.isoformat()}'")


def quarantine_rules(table: str, run_date: date) -> list[tuple[str, Column]]:
    """The ``quarantine`` checks of ``table`` as (check name, violation condition) rules.

    An ingest applies them to its staged rows, shaped like ``table``, before it writes, so
    violating rows reach the quarantine table instead of ``table`` in the same run.
    """
    return [
        (check.name, F.expr(bind_run_date(check.predicate, run_date)))
        for check in load_checks(table)
        if check.severity == "quarantine"
    ]


def sample_keys(spark: SparkSession, check: Check, run_date: date) -> tuple[str, ...]:
    """Up to SAMPLE_SIZE values of the first column the check returns."""
    rows = spark.sql(bind_run_date(check.sql, run_date)).limit(SAMPLE_SIZE).collect()
    return tuple(str(row[0]) for row in rows)


def run_row_checks(
    spark: SparkSession, checks: list[Check], run_date: date, version: int
) -> list[CheckResult]:
    """Every row check of one table in a single scan: one ``count_if`` per predicate.

    Samples are fetched afterwards only for checks that found violations (a LIMIT query
    that stops early), so a passing table costs exactly one scan.
    """
    if not checks:
        return []
    table = validate_identifier(checks[0].table)
    started = time.perf_counter()
    counters = ", ".join(
        f"count_if(coalesce(({bind_run_date(check.predicate, run_date)}), false)) as c{i}"
        for i, check in enumerate(checks)
    )
    # When every predicate is "<run slice> and ...", no row outside the slice can count:
    # filtering on it lets Delta skip the files of other days by their min/max stats.
    run_slice = shared_run_slice(checks)
    where = f" where {bind_run_date(run_slice, run_date)}" if run_slice else ""
    counts = spark.sql(f"select {counters} from {table}{where}").first()
    scan_ms = int((time.perf_counter() - started) * 1000)
    results = []
    for i, check in enumerate(checks):
        count = int(counts[f"c{i}"])
        samples = sample_keys(spark, check, run_date) if count else ()
        results.append(CheckResult(check, run_date, version, count, samples, duration_ms=scan_ms))
    return results


def shared_run_slice(checks: list[Check]) -> str | None:
    """The ``<column> = {run_date}`` conjunct that every row check's predicate opens with.

    Only a predicate of the form ``<column> = {run_date} and <rest>`` with no ``or`` at
    the top level of ``<rest>`` is a conjunction that includes the slice for certain
    (``and`` binds tighter than ``or``); anything else, and checks that disagree, give
    None, and the fused scan reads the whole table.
    """
    slices = set()
    for check in checks:
        match = _RUN_SLICE.match(check.predicate or "")
        if not match or _has_top_level_or(match.group("rest")):
            return None
        slices.add(re.sub(r"\s+", " ", match.group("slice")))
    return slices.pop() if len(slices) == 1 else None


def _has_top_level_or(sql: str) -> bool:
    depth = 0
    for token in re.findall(r"\(|\)|'[^']*'|\b\w+\b", sql):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0 and token.lower() == "or":
            return True
    return False


def run_table_check(spark: SparkSession, check: Check, run_date: date, version: int) -> CheckResult:
    """Run one table-level check (and its observation, if it declares one)."""
    started = time.perf_counter()
    count = spark.sql(bind_run_date(check.sql, run_date)).count()
    samples = sample_keys(spark, check, run_date) if count else ()
    observed = None
    if check.observe:
        value = spark.sql(bind_run_date(check.observe, run_date)).first()[0]
        observed = None if value is None else float(value)
    return CheckResult(
        check=check,
        run_date=run_date,
        table_version=version,
        violation_count=count,
        sample_keys=samples,
        duration_ms=int((time.perf_counter() - started) * 1000),
        observed_value=observed,
    )


def run_checks(
    spark: SparkSession,
    table: str,
    run_date: date,
    quarantined: dict[str, int] | None = None,
) -> list[CheckResult]:
    """Run every check of ``table`` against its latest version, in file-name order.

    ``quarantined`` holds how many staged rows each quarantine check moved aside in this
    run: those rows never reached the table, so that count is the check's result.
    """
    version = table_version(spark, require_table(spark, table))
    checks = load_checks(table)
    row_checks = [check for check in checks if check.kind == "row"]
    by_name = {r.check.name: r for r in run_row_checks(spark, row_checks, run_date, version)}
    results = []
    for check in checks:
        result = by_name.get(check.name) or run_table_check(spark, check, run_date, version)
        moved = (quarantined or {}).get(check.name, 0)
        if check.severity == "quarantine" and moved:
            result = CheckResult(
                check,
                run_date,
                version,
                moved + result.violation_count,
                result.sample_keys,
                result.duration_ms,
            )
        results.append(result)
    return results


def run_table_checks(
    spark: SparkSession,
    cfg: Config,
    table: str,
    run_date: date,
    run_id: str,
    restore_version: int | None = None,
    quarantined: dict[str, int] | None = None,
    run_rows: str | None = None,
) -> list[CheckResult]:
    """Run, record and gate: raises :class:`DataQualityError` if a ``fail`` check fails.

    With ``restore_version`` (the table's version before the job wrote), a failed gate
    first puts the table back as it was, so the run's data does not stay visible
    downstream; the table's history keeps both the write and the undo. ``run_rows`` (a
    predicate over the table, with ``{run_date}``) limits the undo to the rows the run
    owns, so that another date committed meanwhile by a concurrent backfill survives;
    without it the whole table is RESTOREd.
    """
    results = run_checks(spark, table, run_date, quarantined)
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
        if restore_version is not None and failures[0].table_version != restore_version:
            undo_run(spark, cfg, table, restore_version, run_rows, run_date)
        raise DataQualityError(failures)
    return results


def undo_run(
    spark: SparkSession,
    cfg: Config,
    table: str,
    version: int,
    run_rows: str | None,
    run_date: date,
) -> None:
    """Put ``table`` back as it was at ``version``: only the run's rows, or all of it."""
    table = validate_identifier(table)
    if run_rows is None:
        logger.warning("restoring %s to version %d after a failed gate", table, version)
        spark.sql(f"restore table {table} to version as of {int(version)}")
        return
    predicate = bind_run_date(run_rows, run_date)
    logger.warning("putting back %s rows where %s as of version %d", table, predicate, version)
    before_df = spark.sql(f"select * from {table} version as of {int(version)}").where(predicate)
    commit_with_retry(
        lambda: before_df.writeTo(table).overwrite(F.expr(predicate)), table, cfg.writes
    )


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
            r.check.kind,
            r.observed_value,
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
        "sample_keys array<string>, check_kind string, observed_value double, status string, "
        "duration_ms bigint, checked_at timestamp",
    )
    commit_with_retry(
        lambda: (
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
        ),
        "dq_results",
        cfg.writes,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the checks of one table for one date on demand (recorded like a pipeline run).

    python -m contentlake.quality events --run-date 2026-11-02
    """
    parser = argparse.ArgumentParser(description="Run a table's data-quality checks on demand")
    parser.add_argument("table", choices=checked_tables())
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
