"""Embed each item's keyframes (and poster) into one ``visual`` vector in ``content_embeddings``.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/embed_media.py --run-date 2026-11-01

Reads ``content_keyframes`` (written by extract_keyframes). An item's input is the set of
its frames (their pixel hashes); only items whose frame set or image model version changed
since their stored vector are sent to the model, so a rerun embeds nothing. Each distinct
frame is embedded once in a pandas UDF (``udfs/image_embedding.py``, on the task's GPU when
Spark assigned one), and the item's vector is the L2-normalised mean of its L2-normalised
frame vectors.
"""

from __future__ import annotations

import logging
import sys
from datetime import date

from contentlake.jobs.embed_content import merge_embeddings
from contentlake.udfs.image_embedding import image_embedding_udf, image_model_fingerprint
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.commit_tags import tagged_commits
from contentlake.config import Config
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.modality_settings import VISUAL
from contentlake.observability import timed_stage
from contentlake.tables import table_version
from contentlake.transforms.embedding_inputs import filter_needs_embedding
from contentlake.transforms.visual import (
    pool_frame_vectors,
    select_item_frames,
    with_visual_input_hash,
)

JOB = "embed_media"
KEYFRAMES_VERSION_TAG = "contentlake.keyframes_version"
IMAGE_MODEL_VERSION_TAG = "contentlake.image_model_version"
logger = logging.getLogger(__name__)


def image_model_version(cfg: Config) -> str:
    settings = cfg.image_embedding
    return settings.model_version or image_model_fingerprint(settings.model)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        settings = cfg.image_embedding
        model_version = image_model_version(cfg)
        keyframes_version = table_version(spark, "content_keyframes")
        frames_df, pending_df = pending_items(spark, cfg, model_version, keyframes_version)
        with timed_stage(logger, "embed pending frames"):
            vectors_df = embed(spark, cfg, frames_df, pending_df, model_version, run_date)
            vectors_df = vectors_df.persist(StorageLevel.MEMORY_AND_DISK)
            # Materialise once: MERGE reads its source twice and must not run the model twice.
            embedded = vectors_df.count()
            frames = vectors_df.agg(F.sum("frames")).first()[0] or 0
        try:
            with timed_stage(logger, "merge and check content_embeddings"):
                if embedded:
                    tag = {
                        KEYFRAMES_VERSION_TAG: keyframes_version,
                        IMAGE_MODEL_VERSION_TAG: model_version,
                    }
                    rows_df = vectors_df.drop("frames")
                    with tagged_commits(spark, **tag):
                        job.gated_write(
                            "content_embeddings", lambda: merge_embeddings(spark, rows_df)
                        )
                else:
                    job.check("content_embeddings")
            logger.info(
                "embedded %d items (%d frames) with %s (%s)",
                embedded,
                frames,
                settings.model,
                model_version,
            )
        finally:
            vectors_df.unpersist()
        return job.finish(
            rows_in=int(frames),
            rows_written=embedded,
            details={
                "model": settings.model,
                "model_version": model_version,
                "keyframes_version": keyframes_version,
            },
        )


def pending_items(
    spark: SparkSession, cfg: Config, model_version: str, keyframes_version: int
) -> tuple[DataFrame, DataFrame]:
    """Every item's frames at ``keyframes_version``, and (content_id, input_hash) of the
    items whose visual vector is missing or was made from other frames or another model."""
    keyframes_df = spark.read.option("versionAsOf", keyframes_version).table("content_keyframes")
    frames_df = select_item_frames(keyframes_df, cfg.image_embedding.include_poster)
    inputs_df = with_visual_input_hash(frames_df)
    pending_df = filter_needs_embedding(
        inputs_df, spark.table("content_embeddings"), VISUAL, model_version
    )
    return frames_df, pending_df


def embed(
    spark: SparkSession,
    cfg: Config,
    frames_df: DataFrame,
    pending_df: DataFrame,
    model_version: str,
    run_date: date,
) -> DataFrame:
    """Rows for ``content_embeddings`` (plus ``frames``, how many were pooled); each distinct
    frame of a pending item goes through the model once, spread evenly over the cores."""
    settings = cfg.image_embedding
    partitions = settings.partitions or spark.sparkContext.defaultParallelism
    # Nondeterministic for the optimiser only (the model gives the same vector for the same
    # bytes): else the pooling's "has a vector" condition is pushed below the UDF's
    # projection with the UDF inlined into it, and every frame went through the model twice.
    embed_image = image_embedding_udf(
        settings.model, settings.device, settings.batch_size, settings.images_per_call
    ).asNondeterministic()
    pending_frames_df = frames_df.join(pending_df, on="content_id", how="inner")
    distinct_df = pending_frames_df.groupBy("frame_hash").agg(F.first("image").alias("image"))
    frame_vectors_df = (
        distinct_df.repartition(partitions)
        .withColumn("embedding", embed_image("image"))
        .select("frame_hash", "embedding")
    )
    item_frames_df = pending_frames_df.select("content_id", "frame_hash", "input_hash")
    pooled_df = pool_frame_vectors(
        item_frames_df.join(frame_vectors_df, on="frame_hash", how="inner")
    )
    return pooled_df.join(pending_df, on="content_id", how="inner").select(
        "content_id",
        F.lit(VISUAL).alias("modality"),
        F.lit(settings.model).alias("model_name"),
        F.lit(model_version).alias("model_version"),
        F.size("embedding").alias("dim"),
        "input_hash",
        "embedding",
        F.lit(run_date).alias("embedded_date"),
        "frames",
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
