"""Embedding throughput: the embed job's Spark path against plain sentence-transformers.

    python bench/embed_throughput.py --texts 4000
    python bench/embed_throughput.py --modality image --frames 512   # keyframes, see below

Both sides embed the same N catalogue texts (title, description, genres, tags from the
sample generator) with the same model, batch size and cores:

- raw:   ``SentenceTransformer.encode`` in this process (torch uses every core);
- spark: ``contentlake.jobs.embed_content.embed`` on local Spark, i.e. the pandas UDF over the
         content table, materialised as the job does before its MERGE.

Start-up is excluded on both sides: JVM and session start, table set-up, and loading the
model (raw: before timing; spark: a warm-up query that loads it in every Python worker,
which then keeps it). Each side runs ``--repeat`` times and the best run counts. The last
line is ``ratio=<spark rate / raw rate>``.

``--modality image`` measures ``jobs/embed_media.py``'s image UDF against a plain torch loop
(``encode_images``) on the same frames and cores instead (``bench/image_throughput.py``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from contentlake.jobs import embed_content, ingest_catalog
from contentlake.udfs.text_embedding import encode_batch, load_text_model, model_fingerprint
from pyspark import StorageLevel
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.sample_data import SampleSpec, generate
from contentlake.session import build_spark
from contentlake.transforms.embedding_inputs import with_embedding_text, with_input_hash

RUN_DATE = date(2026, 11, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument(
        "--modality",
        choices=("text", "image"),
        default="text",
        help="image: keyframes through image_embedding.model (bench/image_throughput.py)",
    )
    parser.add_argument("--frames", type=int, default=512, help="--modality image: frames")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--root", default=None, help="scratch lakehouse (default: a temp dir)")
    args = parser.parse_args()
    if args.modality == "image":
        from image_throughput import image_throughput

        image_throughput(args.frames, args.repeat, args.root)
        return

    root = Path(args.root or tempfile.mkdtemp(prefix="embed-bench-"))
    cfg = load_config("local", root=root, overrides={"database": "embed_bench"})
    generate(
        cfg.paths.landing,
        SampleSpec(items=args.texts, days=1, events_per_day=10, start_date=RUN_DATE, bad_share=0.0),
    )
    spark = build_spark(cfg)
    spark.sparkContext.setLogLevel("ERROR")
    ingest_catalog.run(spark, cfg, RUN_DATE, "bench")
    settings = cfg.embedding
    model_version = model_fingerprint(settings.model)
    inputs_df = (
        spark.table("content")
        .transform(with_embedding_text)
        .transform(with_input_hash)
        .select("content_id", "embedding_text", "input_hash")
        .localCheckpoint()
    )
    texts = [row.embedding_text for row in inputs_df.select("embedding_text").collect()]
    n = len(texts)
    print(
        f"texts={n} model={settings.model} batch_size={settings.batch_size} "
        f"cores={os.cpu_count()} spark_partitions={spark.sparkContext.defaultParallelism}"
    )

    model = load_text_model(settings.model, settings.device)
    encode_batch(model, texts[:64], settings.batch_size)
    raw_seconds = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        encode_batch(model, texts, settings.batch_size)
        raw_seconds.append(time.perf_counter() - started)

    embed_content.embed(spark, cfg, inputs_df.limit(256), model_version, RUN_DATE).agg(
        F.count("*")
    ).collect()
    spark_seconds = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        vectors_df = embed_content.embed(spark, cfg, inputs_df, model_version, RUN_DATE)
        vectors_df = vectors_df.persist(StorageLevel.MEMORY_AND_DISK)
        assert vectors_df.count() == n
        spark_seconds.append(time.perf_counter() - started)
        vectors_df.unpersist()
    spark.stop()

    raw_rate = n / min(raw_seconds)
    spark_rate = n / min(spark_seconds)
    print(
        f"raw sentence-transformers: {raw_rate:8.1f} texts/s  (runs: "
        + ", ".join(f"{s:.1f}s" for s in raw_seconds)
        + ")"
    )
    print(
        f"spark embed job:           {spark_rate:8.1f} texts/s  (runs: "
        + ", ".join(f"{s:.1f}s" for s in spark_seconds)
        + ")"
    )
    print(f"ratio={spark_rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
