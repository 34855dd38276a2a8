"""Generate sample data and run the daily pipeline for a few days, then show the results.

    python -m contentlake.demo --items 400 --days 3

Everything lands under ``--root`` (default ``./lakehouse``): landing files, Delta tables,
the Derby metastore and the FAISS snapshots.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config, load_config
from contentlake.errors import JobFailed
from contentlake.index_snapshot import load_snapshot, read_manifest
from contentlake.job_runs import JobResult
from contentlake.modality_neighbours import (
    neighbour_lines,
    neighbours_by_modality,
    pick_items,
    read_modality_vectors,
)
from contentlake.modality_settings import INDEXABLE
from contentlake.observability import configure_logging, display_path
from contentlake.pipeline import run_daily
from contentlake.report import write_pipeline_report
from contentlake.sample_data import SampleSpec, generate
from contentlake.sql_files import SQL_DIR, sql_statements
from contentlake.tables import ensure_tables

# What `make demo` generates, and the shape bench/pipeline_day.py measures by default.
DEMO_SHAPE = SampleSpec(
    items=400,
    days=3,
    start_date=date(2026, 11, 1),
    users=300,
    events_per_day=4000,
    seed=7,
    media_items=80,
    duplicate_groups=20,
)
SHOWN_TABLES = (
    "bronze_catalog",
    "bronze_events",
    "content",
    "content_quarantine",
    "events",
    "events_quarantine",
    "content_daily_features",
    "content_embeddings",
    "content_match_pairs",
    "content_entities",
    "drift_metrics",
    "dq_results",
    "job_runs",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="lakehouse folder (default ./lakehouse)")
    parser.add_argument(
        "--items", type=int, default=DEMO_SHAPE.items, help="catalogue size on day one"
    )
    parser.add_argument(
        "--days", type=int, default=DEMO_SHAPE.days, help="consecutive days to run"
    )
    parser.add_argument("--events-per-day", type=int, default=DEMO_SHAPE.events_per_day)
    parser.add_argument("--users", type=int, default=DEMO_SHAPE.users)
    parser.add_argument(
        "--start-date", type=date.fromisoformat, default=DEMO_SHAPE.start_date
    )
    parser.add_argument("--seed", type=int, default=DEMO_SHAPE.seed)
    parser.add_argument(
        "--media-items",
        type=int,
        default=DEMO_SHAPE.media_items,
        help="day-one items with a poster and a short video (about 10 ms each to generate)",
    )
    parser.add_argument(
        "--duplicate-groups",
        type=int,
        default=DEMO_SHAPE.duplicate_groups,
        help="planted duplicate groups and hard negatives (jobs/resolve_entities.py)",
    )
    parser.add_argument(
        "--migrate-to",
        metavar="MODEL",
        default=None,
        help="then one more day with embedding.model switched to MODEL: a model migration",
    )
    return parser.parse_args(argv)


def demo_run_id(run_date: date) -> str:
    """The run id the demo gives a day's jobs; a rerun of that day under it is the same run."""
    return f"demo__{run_date.isoformat()}"


def run_demo(
    spark: SparkSession, cfg: Config, spec: SampleSpec, run_days: int | None = None
) -> list[JobResult]:
    """Land ``spec``'s files and run the pipeline for its first ``run_days`` days (all)."""
    generate(cfg.paths.landing, spec)
    ensure_tables(spark, cfg)
    results = []
    for run_date in spec.landing_dates()[:run_days]:
        results += run_daily(spark, cfg, run_date, run_id=demo_run_id(run_date))
    return results


def run_migration_day(
    spark: SparkSession, cfg: Config, spec: SampleSpec, model: str
) -> tuple[Config, date, str | None]:
    """The last day of ``spec`` (landed by :func:`run_demo`, which ran the days before it)
    with ``embedding.model`` switched to ``model``: the
    new vectors are written beside the old ones, and the new model's snapshot is judged
    against the served one. Returns the migrated config, the day and why the new snapshot
    was refused (None when it was promoted)."""
    migrated = load_config(
        profile=cfg.profile,
        root=cfg.paths.root,
        overrides={"database": cfg.database, "embedding": {"model": model}},
    )
    run_date = spec.landing_dates()[-1]
    try:
        run_daily(spark, migrated, run_date, run_id=f"{demo_run_id(run_date)}__migration")
    except JobFailed as failed:
        if "snapshot not promoted" not in str(failed):
            raise
        return migrated, run_date, str(failed)
    return migrated, run_date, None


def show_migration(spark: SparkSession, cfg: Config, run_date: date, refused: str | None) -> None:
    """Both models' figures on the same queries, the decision, and what serves now."""
    snapshots = cfg.paths.snapshots
    staged = sorted(snapshots.glob(f"{run_date.isoformat()}_*"))
    print(f"\n=== Model migration on {run_date} ===")
    if not staged:
        print("  no snapshot staged for the new model (the pipeline stopped before it)")
        return
    manifest = read_manifest(staged[-1])
    migration = manifest.get("model_migration") or {}
    evaluated = {
        row.snapshot: row
        for row in spark.table("retrieval_eval").where(F.col("run_date") == run_date).collect()
    }
    k = cfg.evaluation.k
    print(
        f"    {'model version':<18} {'snapshot':<30} {'queries':>7} {'ndcg@' + str(k):>8} "
        f"{'mrr@' + str(k):>8} {'recall@' + str(k):>9} {'map@' + str(k):>8} "
        f"{'genre_p@' + str(k):>10}"
    )
    genre = migration.get(f"genre_precision@{k}") or {}
    sides = (
        ("served", migration.get("served_snapshot"), migration.get("from")),
        ("staged", manifest["snapshot"], manifest["model"]["version"]),
    )
    for side, name, version in sides:
        row = evaluated.get(name)
        figures = [row.ndcg_at_k, row.mrr_at_k, row.recall_at_k, row.map_at_k] if row else []
        shown = " ".join(
            f"{value:>{width}.4f}" if value is not None else f"{'n/a':>{width}}"
            for value, width in zip(figures or [None] * 4, (8, 8, 9, 8), strict=True)
        )
        precision = genre.get(side)
        print(
            f"  {'*' if side == 'staged' else ' '} {version or '?':<18} {name or '?':<30} "
            f"{row.queries if row else 0:>7} {shown} "
            f"{precision if precision is None else f'{precision:.4f}':>10}"
        )
    if migration:
        overlap = migration.get(f"neighbour_overlap@{k}")
        shown = "n/a" if overlap is None else f"{overlap:.4f}"
        print(f"  neighbour overlap@{k} between the two: {shown}")
    decision = "REFUSED: " + refused if refused else "promoted"
    print(f"  decision: {decision}")
    served = load_snapshot(snapshots)
    versions = next(
        (g["detail"] for g in served.manifest["gates"] if g["gate"] == "one_model_version"), "?"
    )
    print(
        f"  serving {served.path.name}: {served.index.ntotal} vectors of one model version "
        f"({versions})"
    )


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
    index = snapshot.manifest["index"]
    print(
        f"=== Published snapshot ===\n  {display_path(snapshot.path, root)}\n  "
        f"{snapshot.index.ntotal} vectors, "
        f"{' '.join(filter(None, (index['factory'], index.get('search_params'))))} index, model "
        f"{snapshot.manifest['model']['name']} ({snapshot.manifest['model']['version']})"
    )
    show_index_choice(index)
    show_evaluation(snapshot.manifest)

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
    show_modality_neighbours(spark, cfg, titles)
    show_entities(spark)


def show_entities(spark: SparkSession, groups: int = 4) -> None:
    """A few works resolved from several ids, each id with the evidence that merged it
    (sql/analyst/entity_duplicates.sql), and the day's counts."""
    print("\n=== Resolved duplicates (jobs/resolve_entities.py, docs/entities.md) ===")
    latest = spark.table("content_entities").agg(F.max("resolved_date")).first()[0]
    if latest is None:
        print("  no entities resolved")
        return
    day_df = spark.table("content_entities").filter(F.col("resolved_date") == latest)
    counts = day_df.agg(
        F.count("*").alias("items"),
        F.countDistinct("canonical_id").alias("works"),
        F.count_if("review").alias("review"),
    ).first()
    decisions = dict(
        spark.table("content_match_pairs")
        .filter(F.col("resolved_date") == latest)
        .groupBy("decision")
        .count()
        .collect()
    )
    print(
        f"  {latest}: {counts['items']} ids -> {counts['works']} works, "
        f"{counts['items'] - counts['works']} duplicates merged, {counts['review']} ids flagged "
        f"for review; scored pairs: {dict(sorted(decisions.items()))}"
    )
    query = sql_statements(SQL_DIR / "analyst" / "entity_duplicates.sql")[0]
    rows = spark.sql(query).collect()
    shown: dict[str, list] = {}
    for row in rows:
        if row.canonical_id in shown or len(shown) < groups:
            shown.setdefault(row.canonical_id, []).append(row)
    for canonical_id, members in shown.items():
        print(f"\n  {canonical_id} {members[0].canonical_title!r} ({len(members)} ids)")
        for m in members:
            year = m.release_date.isoformat() if m.release_date else "?"
            evidence = (
                f"{m.match_rule or '-'} via {m.matched_with} score {m.score:.3f} "
                f"title {m.title_similarity} cos {m.cosine} "
                f"dur gap {m.duration_gap} yr gap {m.year_gap}"
                if m.matched_with
                else "-"
            )
            print(
                f"    {m.content_id} {m.title!r} [{m.content_type}, {m.duration_seconds}s, "
                f"{year}, {m.language}] {evidence}"
            )


def show_modality_neighbours(
    spark: SparkSession, cfg: Config, titles: dict[str, tuple[str, str]], items: int = 3
) -> None:
    """For a few items having every modality: their 5 nearest items by text, by look, by
    behaviour and fused (exact cosine over content_embeddings, on the driver)."""
    vectors = read_modality_vectors(spark, cfg, INDEXABLE)
    queries = pick_items(vectors, items)
    print("\n=== Neighbours by modality (5 nearest by cosine in each one's vectors) ===")
    counts = ", ".join(f"{modality} {len(found.ids)}" for modality, found in vectors.items())
    print(f"  items with vectors: {counts}")
    describe = {cid: f"{title!r} [{genres}]" for cid, (title, genres) in titles.items()}
    for line in neighbour_lines(neighbours_by_modality(vectors, queries, 5), queries, describe):
        print(line)


def show_index_choice(index: dict) -> None:
    """Every candidate's figures, the chosen one marked, as the manifest records them."""
    choice = index.get("choice")
    if not choice:
        print(f"\n  index fixed by configuration: {index['factory']}")
        return
    print(
        f"\n=== Index chosen by measurement (recall@10 >= {choice['target_recall_at_10']}, "
        f"max_bytes {choice['max_bytes']}, max_p99_ms {choice['max_p99_ms']}; "
        f"{choice['queries']} held-out items) ==="
    )
    print(f"    {'candidate':<14} {'recall@10':>9} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>10}  note")
    for figure in choice["candidates"]:
        chosen = figure["name"] == choice["chosen"]
        if figure["recall_at_10"] is None:
            measured, note = f"{'':>9} {'':>8} {'':>8} {'':>10}", figure["reason"]
        else:
            measured = (
                f"{figure['recall_at_10']:>9.4f} {figure['p50_ms']:>8.3f} "
                f"{figure['p99_ms']:>8.3f} {figure['bytes']:>10}"
            )
            verdict = "chosen" if chosen else "meets the limits"
            note = (
                f"{figure['search_params']} {verdict}".strip()
                if figure["met"]
                else figure["reason"]
            )
        print(f"  {'*' if chosen else ' '} {figure['name']:<14} {measured}  {note}")


def show_evaluation(manifest: dict) -> None:
    """The offline evaluation and the gates of the served snapshot."""
    evaluation = manifest.get("evaluation") or {}
    metrics = {name: value for name, value in evaluation.items() if "@" in name}
    print("\n=== Offline evaluation (behaviour of the held-out window) ===")
    if metrics:
        window = evaluation.get("window") or {}
        print(
            f"  {evaluation.get('queries', 0)} queries, window {window.get('start')} .. "
            f"{window.get('end')}: "
            + ", ".join(
                f"{name} {value:.4f}" if value is not None else f"{name} n/a"
                for name, value in metrics.items()
            )
        )
    else:
        print("  not evaluated")
    for gate in manifest.get("gates", []):
        verdict = "passed" if gate["passed"] else "FAILED"
        print(f"  gate {gate['gate']:<24} {verdict}: {gate['detail']}")


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
        media_items=args.media_items,
        duplicate_groups=args.duplicate_groups,
    )
    from contentlake.session import build_spark

    spark = build_spark(cfg)
    try:
        if args.migrate_to:
            spec = dataclasses.replace(spec, days=spec.days + 1)
        results = run_demo(spark, cfg, spec, run_days=args.days)
        show_results(spark, cfg, results)
        if args.migrate_to:
            _, day, refused = run_migration_day(spark, cfg, spec, args.migrate_to)
            show_migration(spark, cfg, day, refused)
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
