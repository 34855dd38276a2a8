"""Finding the items to re-embed: Change Data Feed against the input-hash join.

    python bench/incremental_inputs.py [--items 200000] [--changed 0.01] [--repeat 3]

Builds (under a temp folder unless ``--root``) a ``content`` table of ``--items`` items,
their ``content_embeddings`` rows as an ``embed_content`` run leaves them (same input
hashes, the commit tagged with the content version and model version it embedded), then
changes the title of a ``--changed`` share of the items in one MERGE, as a day's
catalogue would. It then times ``contentlake.jobs.embed_content.pending_items`` both ways, best of
``--repeat``, each counting the items it selects:

- input_hash: every item's text hashed and anti-joined with every stored vector;
- cdf:        the content rows changed since the embedded version (the feed), then the
              same anti-join on those items only.

Both must select the same items (checked). The last line is
``ratio=<cdf seconds / input_hash seconds>``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from contentlake.jobs.embed_content import pending_items
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from contentlake.commit_tags import tagged_commits
from contentlake.config import load_config
from contentlake.embedding_changes import CONTENT_VERSION_TAG, MODEL_VERSION_TAG
from contentlake.session import build_spark
from contentlake.tables import ensure_tables, table_version
from contentlake.transforms.embedding_inputs import with_embedding_text, with_input_hash

MODEL_VERSION = "bench-model"
DAY = date(2026, 11, 1)


def content_df(spark, items: int):
    return spark.range(items).select(
        F.format_string("c%06d", "id").alias("content_id"),
        F.lit("movie").alias("content_type"),
        F.concat(F.lit("Title "), F.col("id").cast("string")).alias("title"),
        F.concat(F.lit("A story numbered "), F.col("id").cast("string")).alias("description"),
        F.array(F.lit("drama")).alias("genres"),
        F.array(F.lit("sea"), F.lit("storm")).alias("tags"),
        F.lit("en").alias("language"),
        (F.col("id") % 7200).cast("int").alias("duration_seconds"),
        F.lit(date(2020, 1, 1)).alias("release_date"),
        F.lit("2026-11-01 12:00:00").cast("timestamp").alias("updated_at"),
        F.lit(None).cast("string").alias("series_id"),
        F.lit(DAY).alias("_ingest_date"),
    )


def build(spark, items: int, changed: float) -> None:
    content_df(spark, items).writeTo("content").overwrite(F.lit(True))
    vectors_df = (
        spark.table("content")
        .transform(with_embedding_text)
        .transform(with_input_hash)
        .select(
            "content_id",
            F.lit("text").alias("modality"),
            F.lit("bench").alias("model_name"),
            F.lit(MODEL_VERSION).alias("model_version"),
            F.lit(1).alias("dim"),
            "input_hash",
            F.array(F.lit(1.0).cast("float")).alias("embedding"),
            F.lit(DAY).alias("embedded_date"),
        )
    )
    tag = {
        "job": "embed_content",
        CONTENT_VERSION_TAG: table_version(spark, "content"),
        MODEL_VERSION_TAG: MODEL_VERSION,
    }
    with tagged_commits(spark, **tag):
        (
            DeltaTable.forName(spark, "content_embeddings")
            .alias("t")
            .merge(vectors_df.alias("s"), "t.content_id = s.content_id")
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )
    every = max(1, round(1 / changed)) if changed > 0 else items + 1
    updates_df = (
        spark.table("content")
        .filter(F.substring("content_id", 2, 6).cast("int") % every == 0)
        .withColumn("title", F.concat("title", F.lit(" (restored)")))
    )
    (
        DeltaTable.forName(spark, "content")
        .alias("t")
        .merge(updates_df.alias("s"), "t.content_id = s.content_id")
        .whenMatchedUpdateAll()
        .execute()
    )


def timed(spark, cfg, setting: str, repeat: int) -> tuple[float, int, str]:
    best, count, kind = float("inf"), -1, ""
    for _ in range(repeat):
        start = time.perf_counter()
        pending_df, source = pending_items(
            spark, cfg, MODEL_VERSION, table_version(spark, "content"), setting
        )
        count = pending_df.count()
        best, kind = min(best, time.perf_counter() - start), source.kind
    return best, count, kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of items changed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default=None)
    args = parser.parse_args(argv)
    root = Path(args.root or tempfile.mkdtemp(prefix="incremental-inputs-"))
    cfg = load_config("local", root=root, overrides={"database": "bench_incremental"})
    spark = build_spark(cfg)
    try:
        spark.sql("drop database if exists bench_incremental cascade")
        ensure_tables(spark, cfg)
        start = time.perf_counter()
        build(spark, args.items, args.changed)
        built = time.perf_counter() - start
        print(f"built {args.items} items, {args.changed:.2%} changed: {built:.1f}s")
        hash_s, hash_n, _ = timed(spark, cfg, "input_hash", args.repeat)
        cdf_s, cdf_n, kind = timed(spark, cfg, "cdf", args.repeat)
        assert kind == "cdf", f"the feed was not used ({kind})"
        assert cdf_n == hash_n, f"cdf selected {cdf_n} items, the hash join {hash_n}"
        print(f"input_hash: {hash_s:.2f}s  {hash_n} items")
        print(f"cdf:        {cdf_s:.2f}s  {cdf_n} items")
        print(f"ratio={cdf_s / hash_s:.3f}")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
