"""Image embedding throughput: the Spark path of jobs/embed_media.py against a torch loop.

    python bench/embed_throughput.py --modality image --frames 512

Both sides embed the same ``--frames`` keyframe PNGs (160x90, seeded shapes and colours)
with ``image_embedding.model`` (EfficientNet-Lite0 by default), its batch size and the same
cores:

- raw:   ``encode_images`` in this process, torch using every core;
- spark: the image pandas UDF over a frames DataFrame spread over
         ``spark.default.parallelism`` partitions, each task's torch using its task's cores,
         materialised as the job does before its MERGE.

Start-up is excluded on both sides (JVM, model load: a warm-up query loads the model in
every Python worker). Each side runs ``--repeat`` times and the best run counts. The last
line is ``ratio=<spark frames/s / raw frames/s>``.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from contentlake.udfs.image_embedding import encode_images, image_embedding_udf, load_image_model
from PIL import Image, ImageDraw
from pyspark import StorageLevel
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.session import build_spark


def frames(count: int, seed: int = 0) -> list[bytes]:
    """Deterministic keyframe-like PNGs: a coloured background and a few shapes."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        image = Image.new("RGB", (160, 90), tuple(int(c) for c in rng.integers(0, 255, 3)))
        draw = ImageDraw.Draw(image)
        for _ in range(4):
            x, y = int(rng.integers(0, 140)), int(rng.integers(0, 70))
            colour = tuple(int(c) for c in rng.integers(0, 255, 3))
            draw.rectangle((x, y, x + int(rng.integers(5, 40)), y + 20), fill=colour)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def image_throughput(count: int, repeat: int, root: str | None) -> float:
    import torch

    root_path = Path(root or tempfile.mkdtemp(prefix="image-bench-"))
    cfg = load_config("local", root=root_path, overrides={"database": "image_bench"})
    settings = cfg.image_embedding
    images = frames(count)
    spark = build_spark(cfg)
    spark.sparkContext.setLogLevel("ERROR")
    partitions = spark.sparkContext.defaultParallelism
    print(
        f"frames={count} model={settings.model} batch_size={settings.batch_size} "
        f"cores={os.cpu_count()} spark_partitions={partitions} "
        f"torch_threads={torch.get_num_threads()}"
    )

    encoder = load_image_model(settings.model, "cpu")
    encode_images(encoder, images[:8], settings.batch_size)
    raw_seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        encode_images(encoder, images, settings.batch_size)
        raw_seconds.append(time.perf_counter() - started)

    frames_df = spark.createDataFrame(
        [(f"f{i:06d}", data) for i, data in enumerate(images)], "frame_hash string, image binary"
    ).localCheckpoint()
    embed = image_embedding_udf(
        settings.model, settings.device, settings.batch_size, settings.images_per_call
    )
    # Warm-up: every Python worker loads the model once (as it does once per executor).
    frames_df.limit(partitions * 2).repartition(partitions).select(embed("image").alias("v")).agg(
        F.count("v")
    ).collect()
    spark_seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        vectors_df = (
            frames_df.repartition(partitions)
            .select("frame_hash", embed("image").alias("embedding"))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        assert vectors_df.filter(F.col("embedding").isNotNull()).count() == count
        spark_seconds.append(time.perf_counter() - started)
        vectors_df.unpersist()
    spark.stop()

    raw_rate = count / min(raw_seconds)
    spark_rate = count / min(spark_seconds)
    runs = ", ".join(f"{s:.1f}s" for s in raw_seconds)
    print(f"raw torch loop:       {raw_rate:8.1f} frames/s  (runs: {runs})")
    runs = ", ".join(f"{s:.1f}s" for s in spark_seconds)
    print(f"spark image UDF:      {spark_rate:8.1f} frames/s  (runs: {runs})")
    ratio = spark_rate / raw_rate
    print(f"ratio={ratio:.3f}")
    return ratio
