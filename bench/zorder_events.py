"""Does Z-ORDER of ``events`` by ``content_id`` pay? Files read and seconds of item lookups.

    python bench/zorder_events.py [--rows 2000000] [--files 32] [--items 20000] [--repeat 3]

Writes ``--rows`` events over ``--items`` items in ``--files`` files (ids spread over every
file, as daily appends leave them), then two copies: compacted by a plain OPTIMIZE and by
``OPTIMIZE ... ZORDER BY (content_id)`` (what ``maintenance.zorder_by`` asks), with
``spark.databricks.delta.optimize.maxFileSize`` set so each copy keeps ``--files`` files.
For a sample of item ids it counts the files Delta's data skipping keeps for
``content_id = <id>`` and times the lookups, best of ``--repeat``. The last line is
``ratio=<z-ordered seconds / compacted seconds>``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.session import build_spark


def files_read(spark, table: str, content_id: str) -> int:
    """Files of ``table`` left after data skipping for one id (the scan's file listing)."""
    df = spark.table(table).filter(F.col("content_id") == content_id)
    return len(df.inputFiles())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=32)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lookups", type=int, default=20)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="zorder-events-"))
    cfg = load_config("local", root=root, overrides={"database": "bench_zorder"})
    spark = build_spark(cfg)
    try:
        spark.sql("create database if not exists bench_zorder")
        spark.catalog.setCurrentDatabase("bench_zorder")
        events_df = spark.range(args.rows, numPartitions=args.files).select(
            F.concat(F.lit("e"), F.col("id").cast("string")).alias("event_id"),
            F.format_string("u%06d", (F.col("id") * 7919) % 50_000).alias("user_id"),
            F.format_string("c%06d", F.abs(F.hash("id")) % args.items).alias("content_id"),
            F.lit("view").alias("event_type"),
            (F.col("id") % 3600).cast("int").alias("watch_seconds"),
        )
        # About the bytes of one --files-th of the table per file after OPTIMIZE.
        for name in ("compacted", "zordered"):
            events_df.write.format("delta").mode("overwrite").saveAsTable(name)
        size = int(spark.sql("describe detail compacted").first()["sizeInBytes"])
        spark.conf.set("spark.databricks.delta.optimize.maxFileSize", str(size // args.files))
        spark.sql("optimize compacted")
        spark.sql("optimize zordered zorder by (content_id)")
        ids = [f"c{n:06d}" for n in range(0, args.items, max(1, args.items // args.lookups))]
        results = {}
        for name in ("compacted", "zordered"):
            files = sum(files_read(spark, name, cid) for cid in ids) / len(ids)
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                for cid in ids:
                    spark.table(name).filter(F.col("content_id") == cid).count()
                best = min(best, time.perf_counter() - start)
            total = int(spark.sql(f"describe detail {name}").first()["numFiles"])
            results[name] = best
            print(f"{name:<10} {total} files, {files:.1f} read per lookup, ", end="")
            print(f"{best:.2f}s for {len(ids)} lookups")
        print(f"ratio={results['zordered'] / results['compacted']:.3f}")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
