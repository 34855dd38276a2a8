"""Generate sample data and run the daily pipeline for a few days, then show the results.

    python -m contentlake.demo --items 400 --days 3

Everything lands under ``--root`` (default ``./lakehouse``): landing files, Delta tables,
the Derby metastore and the FAISS snapshots.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config, load_config
from contentlake.index_snapshot import load_snapshot
from contentlake.job_runs import JobResult
from contentlake.observability import configure_logging, display_path
from contentlake.pipeline import run_daily
from contentlake.report import write_pipeline_report
from contentlake.sample_data import SampleSpec, generate
from contentlake.tables import ensure_tables

SHOWN_TABLES = (
    "bronze_catalog",
    "bronze_events",
    "content",
    "content_quarantine",
    "events",
    "events_quarantine",
    "content_daily_features",
    "content_embeddings",
    "dq_results",
    "job_runs",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="lakehouse folder (default ./lakehouse)")
    parser.add_argument("--items", type=int, default=400, help="catalogue size on day one")
    parser.add_argument("--days", type=int, default=3, help="consecutive days to run")
    parser.add_argument("--events-per-day", type=int, default=4000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--start-date", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def run_demo(spark: SparkSession, cfg: Config, spec: SampleSpec) -> list[JobResult]:
    generate(cfg.paths.landing, spec)
    ensure_tables(spark, cfg)
    results = []
    for run_date in spec.landing_dates():
        results += run_daily(spark, cfg, run_date, run_id=f"demo__{run_date.isoformat()}")
    return results


def show_results(spark: SparkSession, cfg: Config, results: list[JobResult]) -> None:
    root = cfg.paths.root
    print("\n=== Tables (Delta, registered in the metastore) ===")
    for table in SHOWN_TABLES:
        print(f"  {cfg.database}.{table:<24} {spark.table(table).count():>8} rows")

    print("\n=== Row accounting per job run (rows_in = written + quarantined) ===")
    for result in results:
        mark = "ok" if result.reconciles else "MISMATCH"
        print(
            f"  {result.run_date} {result.job:<15} in={result.rows_in:<6} "
            f"written={result.rows_written:<6} quarantined={result.rows_quarantined:<4} {mark}"
        )

    dead_letters = list(dead_lettered_files(cfg, results))
    if dead_letters:
        print("\n=== Dead-lettered landing files (unreadable, moved aside) ===")
        for path, reason in dead_letters:
            print(f"  {display_path(path, root)}: {reason}")

    print("\n=== Quarantined rows by reason ===")
    for table in ("content_quarantine", "events_quarantine"):
        spark.table(table).groupBy("reason").count().orderBy("reason").show(truncate=False)

    print("=== Data-quality results (latest run date) ===")
    latest = spark.table("dq_results").agg(F.max("run_date")).first()[0]
    (
        spark.table("dq_results")
        .filter(F.col("run_date") == latest)
        .select("table_name", "check_name", "severity", "status", "violation_count")
        .orderBy("table_name", "check_name")
        .show(50, truncate=False)
    )

    snapshot = load_snapshot(cfg.paths.snapshots)
    print(
        f"=== Published snapshot ===\n  {display_path(snapshot.path, root)}\n  "
        f"{snapshot.index.ntotal} vectors, "
        f"{snapshot.manifest['index']['factory']} index, model "
        f"{snapshot.manifest['model']['name']} ({snapshot.manifest['model']['version']})"
    )

    titles = {
        row.content_id: (row.title, ", ".join(row.genres or []))
        for row in spark.table("content").select("content_id", "title", "genres").collect()
    }
    print("\n=== Items similar to ... (answered from the snapshot) ===")
    for content_id in snapshot.ids[:: max(len(snapshot.ids) // 3, 1)][:3]:
        title, genres = titles[content_id]
        print(f"\n  {content_id} {title!r} [{genres}]")
        for other, score in snapshot.similar_to(content_id, k=5):
            other_title, other_genres = titles.get(other, ("?", ""))
            print(f"    {score:.3f}  {other} {other_title!r} [{other_genres}]")


def dead_lettered_files(cfg: Config, results: list[JobResult]) -> Iterator[tuple[Path, str]]:
    """Each dead-lettered landing file the ingests reported, where it now lies, and why."""
    for result in results:
        source = result.job.removeprefix("ingest_")
        folder = cfg.paths.dead_letter / source / f"date={result.run_date}"
        for key, reason in result.details.items():
            if key.startswith("dead_letter."):
                yield folder / key.removeprefix("dead_letter."), reason


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = parse_args(argv)
    cfg = load_config(profile="local", root=args.root)
    spec = SampleSpec(
        items=args.items,
        days=args.days,
        start_date=args.start_date,
        users=args.users,
        events_per_day=args.events_per_day,
        seed=args.seed,
    )
    from contentlake.session import build_spark

    spark = build_spark(cfg)
    try:
        results = run_demo(spark, cfg, spec)
        show_results(spark, cfg, results)
        report = write_pipeline_report(
            spark, cfg.paths.root / "reports" / "pipeline.html", load_snapshot(cfg.paths.snapshots)
        )
        print(f"\n=== Report ===\n  {display_path(report, cfg.paths.root)}")
    finally:
        spark.stop()
    logging.getLogger(__name__).info("lakehouse at %s", Path(cfg.paths.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
