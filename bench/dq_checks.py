"""Data-quality suite cost on a 10M-row events table, against one count(*) scan.

    python bench/dq_checks.py --rows 10000000 [--days 30]

Builds (once, then reuses) an ``events`` table of ``--rows`` rows spread over ``--days``
ingest dates that end on the run date (30: a month of daily runs, the shape the daily
gate meets; 1: every row ingested on the run date, the worst case), plus the ``content``
table they refer to, with a sprinkle of violations so that failing checks also fetch
their samples. Then it times the checks of the run date, best of ``--repeat``:

- count:     ``select count(*) from events`` (Delta's metadata-only count switched off).
             Parquet still answers it from file footers without reading a value, so
             the bench also times
- scan:      one pass reading every column the checks read (``count(<column>)`` of each),
             the cost of looking at the data once; the ratios are taken against it;
- row scan:  every row-level check of ``events`` in its single fused scan;
- suite:     every check of ``events``, row and table level, as the pipeline runs them;
- per-check: the same suite the naive way, one query (count + samples) per check file.

With ``--ingest`` it also runs ``ingest_events`` on a landing day of ``--rows`` rows and
prints the gate's seconds (the checks of ``events`` and ``events_quarantine``) as a share of
the job's own. With ``--gx`` it also runs the row-level checks as Great Expectations
expectations on the same table, if Great Expectations is installed. The last line is
``ratio=<suite / scan>``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.contract import CONTENT_TYPES, DEVICES, EVENT_COLUMNS, EVENT_TYPES
from contentlake.dq.engine import run_checks, run_fused_scan
from contentlake.dq.rules import SAMPLE_SIZE, bind_run_date, load_checks, shared_run_slice
from contentlake.session import build_spark
from contentlake.tables import ensure_tables, table_version

RUN_DATE = date(2026, 11, 1)
ITEMS = 20_000
CHECKED_COLUMNS = (*EVENT_COLUMNS, "_ingest_date")
SCAN_QUERY = "select {} from events".format(
    ", ".join(f"count({column})" for column in CHECKED_COLUMNS)
)


def build_tables(spark: SparkSession, rows: int, days: int) -> None:
    """Content items and ``rows`` events spread evenly over ``days`` ingest dates ending on
    RUN_DATE, as daily runs leave them (each date's files hold that date only); 0.1% of
    the events have an unknown device."""
    spark.range(ITEMS).select(
        F.format_string("c%06d", "id").alias("content_id"),
        F.element_at(
            F.array(*map(F.lit, CONTENT_TYPES[::2])), (F.col("id") % 2 + 1).cast("int")
        ).alias("content_type"),
        F.concat(F.lit("Title "), F.col("id")).alias("title"),
        F.lit("A description.").alias("description"),
        F.array(F.lit("drama")).alias("genres"),
        F.array(F.lit("tag")).alias("tags"),
        F.lit("en").alias("language"),
        (F.col("id") % 5000 + 60).cast("int").alias("duration_seconds"),
        F.lit(date(2020, 1, 1)).alias("release_date"),
        F.lit("2026-11-01 00:00:00").cast("timestamp").alias("updated_at"),
        F.lit(None).cast("string").alias("series_id"),
        F.lit(RUN_DATE).alias("_ingest_date"),
    ).writeTo("content").overwrite(F.lit(True))
    event_types = F.array(*map(F.lit, EVENT_TYPES))
    devices = F.array(*map(F.lit, DEVICES))
    per_day = -(-rows // days)
    day = F.date_sub(F.lit(RUN_DATE), (days - 1 - F.floor(F.col("id") / per_day)).cast("int"))
    seconds = (F.col("id") * 7919) % 86_400
    events_df = spark.range(rows, numPartitions=16).select(
        F.concat(
            F.lit("e"),
            F.date_format(day, "yyyyMMdd"),
            F.format_string("%07d", F.col("id") % per_day),
        ).alias("event_id"),
        F.format_string("u%06d", F.col("id") % 50_000).alias("user_id"),
        F.format_string("c%06d", (F.col("id") * 31) % ITEMS).alias("content_id"),
        F.element_at(event_types, (F.col("id") % 7 + 1).cast("int")).alias("event_type"),
        F.timestamp_seconds(F.unix_timestamp(day) + seconds).alias("event_ts"),
        day.alias("event_date"),
        (F.col("id") % 3000).cast("double").alias("watch_seconds"),
        F.when(F.col("id") % 1000 == 0, F.lit("fridge"))
        .otherwise(F.element_at(devices, (F.col("id") % 4 + 1).cast("int")))
        .alias("device"),
        day.alias("_ingest_date"),
    )
    # One file set per date, as daily runs write them; a single day still gets 16 files.
    events_df = events_df.repartition(days, "_ingest_date") if days > 1 else events_df
    events_df.writeTo("events").overwrite(F.lit(True))


def best_of(repeat: int, action) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def per_check_way(spark: SparkSession) -> None:
    """One query per check file: count the violating rows, then fetch samples."""
    for check in load_checks("events"):
        violations_df = spark.sql(bind_run_date(check.sql, RUN_DATE))
        if violations_df.count():
            violations_df.limit(SAMPLE_SIZE).collect()


def great_expectations_way(spark: SparkSession) -> float | None:
    try:
        import great_expectations as gx
    except ImportError:
        print("great_expectations is not installed: skipping the GX comparison")
        return None
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_spark("bench")
    asset = source.add_dataframe_asset("events")
    batch_definition = asset.add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(gx.ExpectationSuite(name="events_rows"))
    for column in ("event_id", "user_id", "content_id"):
        suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="event_type",
            value_set=list(EVENT_TYPES),
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(column="device", value_set=list(DEVICES))
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToMatchRegex(
            column="event_id", regex=r"^e[0-9]{8}[0-9]{7}$"
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="watch_seconds", min_value=0, max_value=86_400
        )
    )
    events_df = spark.table("events")

    def validate() -> None:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": events_df})
        batch.validate(suite)

    return validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--days",
        type=int,
        default=30,
        help="ingest dates the rows spread over (1: all on the run date)",
    )
    parser.add_argument("--root", default=None, help="where the bench lakehouse is kept")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--gx", action="store_true", help="also time Great Expectations")
    parser.add_argument(
        "--ingest",
        action="store_true",
        help="also run ingest_events on a --rows landing day: the gate's share of its time",
    )
    args = parser.parse_args()

    root = (
        args.root or Path(tempfile.gettempdir()) / f"contentlake-dq-bench-{args.rows}-{args.days}d"
    )
    cfg = load_config("local", root=str(root), overrides={"database": "dq_bench"})
    spark = build_spark(cfg)
    spark.sparkContext.setLogLevel("ERROR")
    # A count(*) answered from the Delta log reads no data: switch that off so the
    # baseline is a real scan.
    spark.conf.set("spark.databricks.delta.optimizeMetadataOnlyQueries.enabled", "false")
    ensure_tables(spark, cfg)
    root = Path(root)
    if args.rebuild or spark.table("events").limit(1).count() == 0:
        started = time.perf_counter()
        build_tables(spark, args.rows, args.days)
        print(f"built {args.rows:,} events in {time.perf_counter() - started:.1f}s")
    rows = spark.table("events").count()
    version = table_version(spark, "events")
    row_checks = [check for check in load_checks("events") if check.kind == "row"]
    print(
        f"events: {rows:,} rows; {len(load_checks('events'))} checks, {len(row_checks)} row-level"
    )

    # One untimed pass warms the JVM, the file listing and the OS page cache for all sides.
    spark.sql("select count(*) from events").collect()
    run_checks(spark, "events", RUN_DATE, version)

    count_s = best_of(args.repeat, lambda: spark.sql("select count(*) from events").collect())
    scan_s = best_of(args.repeat, lambda: spark.sql(SCAN_QUERY).collect())
    run_slice = shared_run_slice(row_checks)
    row_scan_s = best_of(
        args.repeat,
        lambda: run_fused_scan(spark, row_checks, [], run_slice, RUN_DATE, version),
    )
    suite_s = best_of(args.repeat, lambda: run_checks(spark, "events", RUN_DATE, version))
    per_check_s = best_of(args.repeat, lambda: per_check_way(spark))
    print(f"count(*) (footers)  {count_s:8.2f}s")
    print(f"scan of the columns {scan_s:8.2f}s")
    print(f"row checks (fused)  {row_scan_s:8.2f}s  = {row_scan_s / scan_s:.2f} x scan")
    print(f"full suite          {suite_s:8.2f}s  = {suite_s / scan_s:.2f} x scan")
    print(f"one query a check   {per_check_s:8.2f}s  = {per_check_s / scan_s:.2f} x scan")
    print(f"suite / one-query-a-check = {suite_s / per_check_s:.2f}")
    print(f"suite / count(*)          = {suite_s / count_s:.2f}")
    if args.gx:
        validate = great_expectations_way(spark)
        if validate:
            gx_s = best_of(args.repeat, validate)
            print(f"GX row expectations {gx_s:8.2f}s  = {gx_s / scan_s:.2f} x scan")
    if args.ingest:
        ingest_s, gate_s = time_ingest(spark, args.rows, root)
        print(
            f"ingest_events of {args.rows:,} landing rows {ingest_s:8.2f}s, of which its gate "
            f"(checks of events and events_quarantine) {gate_s:.2f}s = {gate_s / ingest_s:.1%}"
        )
    spark.stop()
    print(f"ratio={suite_s / scan_s:.2f}")


def time_ingest(spark: SparkSession, rows: int, root: Path) -> tuple[float, float]:
    """Wall and data-quality seconds of ``ingest_events`` for one day of ``rows`` landing
    rows (Spark-generated CSV, see pipeline_day.py), in a lakehouse of its own."""
    from contentlake.jobs import ingest_catalog, ingest_events
    from pipeline_day import START, generate_with_spark

    cfg = load_config("local", root=str(root / "ingest"), overrides={"database": "dq_bench_ingest"})
    spark.sql("drop database if exists dq_bench_ingest cascade")
    generate_with_spark(spark, cfg.paths.landing, ITEMS, rows, days=1)
    ensure_tables(spark, cfg)
    ingest_catalog.run(spark, cfg, START)
    result = ingest_events.run(spark, cfg, START)
    figures = result.clock.summary()
    spark.catalog.setCurrentDatabase("dq_bench")
    return figures["wall_s"], figures["dq_s"]


if __name__ == "__main__":
    main()
