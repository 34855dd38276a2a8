"""Run a table's data-quality rules and return their results; nothing is written here.

Row checks and the aggregate checks that read the same rows share one scan. A check that
finds violations gets its count and its sample keys from that same query (a row check's
samples come from one LIMIT query of its own, run only when it found something).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from datetime import date

from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from contentlake.config import validate_identifier
from contentlake.dq.rules import (
    SAMPLE_SIZE,
    Check,
    CheckResult,
    bind_run_date,
    fuses_with,
    load_checks,
    shared_run_slice,
)
from contentlake.stage_clock import timed

logger = logging.getLogger(__name__)


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


def run_checks(
    spark: SparkSession,
    table: str,
    run_date: date,
    version: int,
    quarantined: Mapping[str, int] | None = None,
) -> list[CheckResult]:
    """Every check of ``table`` (at ``version``, its latest) in file-name order.

    ``quarantined`` holds how many staged rows each quarantine check moved aside in this
    run: those rows never reached the table, so that count is added to the check's result.
    """
    checks = load_checks(table)
    row_checks = [check for check in checks if check.kind == "row"]
    aggregate_checks = [check for check in checks if check.kind == "aggregate"]
    if row_checks:
        run_slice = shared_run_slice(row_checks)
    else:
        # No row checks: the aggregate checks that read what the first one reads share a scan.
        run_slice = aggregate_checks[0].predicate if aggregate_checks else None
    fused = [check for check in aggregate_checks if fuses_with(check, run_slice)]
    by_name = {
        r.check.name: r
        for r in run_fused_scan(spark, row_checks, fused, run_slice, run_date, version)
    }
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


def run_fused_scan(
    spark: SparkSession,
    row_checks: list[Check],
    aggregate_checks: list[Check],
    run_slice: str | None,
    run_date: date,
    version: int,
) -> list[CheckResult]:
    """Row checks (one ``count_if`` each) and aggregate checks (a struct of their
    aggregates each) of one table, in a single scan of the run's slice.

    When every row predicate is ``<run slice> and ...``, no row outside the slice can
    count: filtering on it lets Delta skip the files of other days by their min/max stats.
    """
    checks = [*row_checks, *aggregate_checks]
    if not checks:
        return []
    table = validate_identifier(checks[0].table)
    started = time.perf_counter()
    columns = [
        f"count_if(coalesce(({bind_run_date(check.predicate, run_date)}), false)) as c{i}"
        for i, check in enumerate(row_checks)
    ] + [
        f"struct({bind_run_date(check.measures, run_date)}) as a{i}"
        for i, check in enumerate(aggregate_checks)
    ]
    where = f" where {bind_run_date(run_slice, run_date)}" if run_slice else ""
    fused_df = spark.sql(f"select {', '.join(columns)} from {table}{where}")
    with timed("dq"):
        counts = fused_df.first()
    scan_ms = int((time.perf_counter() - started) * 1000)
    results = []
    for i, check in enumerate(row_checks):
        count = int(counts[f"c{i}"])
        samples = sample_keys(spark, check, run_date) if count else ()
        results.append(CheckResult(check, run_date, version, count, samples, duration_ms=scan_ms))
    for i, check in enumerate(aggregate_checks):
        aggregates_df = spark.createDataFrame(
            [counts[f"a{i}"]], fused_df.schema[f"a{i}"].dataType
        )
        results.append(judge_aggregates(spark, check, aggregates_df, run_date, version, scan_ms))
    return results


def judge_aggregates(
    spark: SparkSession,
    check: Check,
    aggregates_df: DataFrame,
    run_date: date,
    version: int,
    scan_ms: int,
) -> CheckResult:
    """Apply an aggregate check's HAVING condition to its one row of aggregates.

    The row goes back to Spark as a local relation, so the condition is evaluated by the
    same SQL engine and may still read small tables (the volume check reads its history
    from ``dq_results``) without touching the checked table again.
    """
    started = time.perf_counter()
    # A name of its own: jobs in threads of one session may judge the same check at once.
    view = f"_dq_{check.name}_{uuid.uuid4().hex[:8]}"
    aggregates_df.createOrReplaceTempView(view)
    try:
        with timed("dq"):
            violation = spark.sql(
                f"select * from {view} where {bind_run_date(check.having, run_date)}"
            ).first()
    finally:
        spark.catalog.dropTempView(view)
    observed = None
    if check.observe:
        value = aggregates_df.first()[check.observe]
        observed = None if value is None else float(value)
    return CheckResult(
        check=check,
        run_date=run_date,
        table_version=version,
        violation_count=0 if violation is None else 1,
        # The one violating row is the aggregates themselves: show them by name.
        sample_keys=() if violation is None else (_render(violation),),
        duration_ms=scan_ms + int((time.perf_counter() - started) * 1000),
        observed_value=observed,
    )


def _render(row: Row, without: str | None = None) -> str:
    """``name=value`` pairs of an aggregate row (``null`` for a missing value)."""
    return ", ".join(
        f"{name}={'null' if value is None else value}"
        for name, value in row.asDict().items()
        if name != without
    )


def sample_keys(spark: SparkSession, check: Check, run_date: date) -> tuple[str, ...]:
    """Up to SAMPLE_SIZE values of the first column the check returns."""
    with timed("dq"):
        rows = spark.sql(bind_run_date(check.sql, run_date)).limit(SAMPLE_SIZE).collect()
    return tuple(str(row[0]) for row in rows)


def run_table_check(spark: SparkSession, check: Check, run_date: date, version: int) -> CheckResult:
    """One table check (or an aggregate check that could not share the fused scan).

    A single query returns the first SAMPLE_SIZE violating rows, each carrying the total
    count (``count(*) over ()``), so a failing check costs no second query for its count.
    """
    started = time.perf_counter()
    sql = bind_run_date(check.sql, run_date)
    with timed("dq"):
        rows = spark.sql(
            f"select *, count(*) over () as _violations from ({sql}) limit {SAMPLE_SIZE}"
        ).collect()
    observed = None
    if check.kind == "aggregate" and check.observe:
        # The aggregate row only comes back when it violates; the observation is wanted
        # on every run, so read it without the HAVING.
        measures_sql = bind_run_date(
            f"select {check.measures} from {check.table}"
            + (f" where {check.predicate}" if check.predicate else ""),
            run_date,
        )
        with timed("dq"):
            value = spark.sql(measures_sql).first()[check.observe]
        observed = None if value is None else float(value)
    return CheckResult(
        check=check,
        run_date=run_date,
        table_version=version,
        violation_count=int(rows[0]["_violations"]) if rows else 0,
        sample_keys=tuple(
            _render(row, without="_violations") if check.kind == "aggregate" else str(row[0])
            for row in rows
        ),
        duration_ms=int((time.perf_counter() - started) * 1000),
        observed_value=observed,
    )


def log_results(results: list[CheckResult]) -> None:
    for result in results:
        log = logger.warning if result.status != "pass" else logger.info
        log(
            "dq %s.%s: %s (%d violations)",
            result.check.table,
            result.check.name,
            result.status,
            result.violation_count,
        )
