"""Fit implicit-feedback ALS on the trailing window of events; item factors become the
``behaviour`` vectors in ``content_embeddings``.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/embed_behaviour.py --run-date 2026-11-01

Ratings: ``contentlake/transforms/behaviour.py`` (confidence from event types and watched
fraction) over ``behaviour.window_days`` up to the run date, items with fewer than
``behaviour.min_users`` viewers dropped (they get no behaviour vector, and lose the one
they had). Every factor depends on every rating, so the unit of change is the fit: its
input hash is a checksum of all the ratings, shared by every vector it made. A rerun over
the same ratings fits nothing; new ratings refit and replace every behaviour vector of the
model version. A fit is reproducible: fixed seed, fixed blocks and partitioning, ids
assigned in sorted order.
"""

from __future__ import annotations

import logging
import sys
from datetime import date

from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.commit_tags import tagged_commits
from contentlake.config import Config
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.modality_settings import BEHAVIOUR, BehaviourSettings, behaviour_model_version
from contentlake.observability import timed_stage
from contentlake.tables import table_version
from contentlake.transforms.behaviour import (
    filter_event_window,
    filter_min_users,
    implicit_ratings,
    ratings_fingerprint_columns,
    with_dense_ids,
)
from contentlake.transforms.vectors import l2_normalised

JOB = "embed_behaviour"
MODEL_NAME = "als-implicit"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        settings = cfg.behaviour
        model_version = behaviour_model_version(settings)
        versions = {table: table_version(spark, table) for table in ("events", "content")}
        ratings_df = window_ratings(spark, settings, run_date, versions).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        try:
            input_hash, ratings = ratings_hash(ratings_df)
            if ratings == 0 or stored_input_hashes(spark, model_version) == {input_hash}:
                # Nothing new to fit on (or nothing at all): the stored vectors stand.
                logger.info("behaviour vectors current (%d ratings, %s)", ratings, input_hash)
                job.check("content_embeddings")
                return job.finish(
                    rows_in=ratings,
                    rows_written=0,
                    details={"model_version": model_version, "fitted": False},
                )
            with timed_stage(logger, "fit ALS"):
                vectors_df = item_vectors(ratings_df, settings).persist(
                    StorageLevel.MEMORY_AND_DISK
                )
                items = vectors_df.count()
        finally:
            ratings_df.unpersist()
        try:
            rows_df = behaviour_rows(vectors_df, model_version, input_hash, run_date)
            with (
                timed_stage(logger, "merge and check content_embeddings"),
                tagged_commits(spark, behaviour_input_hash=input_hash),
            ):
                job.gated_write(
                    "content_embeddings",
                    lambda: replace_behaviour_vectors(spark, rows_df, model_version),
                )
        finally:
            vectors_df.unpersist()
        logger.info("behaviour vectors for %d items from %d ratings", items, ratings)
        return job.finish(
            rows_in=ratings,
            rows_written=items,
            details={
                "model_version": model_version,
                "fitted": True,
                "events_version": versions["events"],
                "input_hash": input_hash,
            },
        )


def window_ratings(
    spark: SparkSession, settings: BehaviourSettings, run_date: date, versions: dict[str, int]
) -> DataFrame:
    """(user_id, content_id, confidence) of the window, items with enough viewers only."""
    events_df = spark.read.option("versionAsOf", versions["events"]).table("events")
    content_df = spark.read.option("versionAsOf", versions["content"]).table("content")
    return (
        filter_event_window(events_df, run_date, settings.window_days)
        .transform(implicit_ratings, content_df, settings.event_weights, settings.watch_weight)
        .transform(filter_min_users, settings.min_users)
    )


def ratings_hash(ratings_df: DataFrame) -> tuple[str, int]:
    """The fit's input hash (of every rating, order-independent) and the rating count."""
    row = ratings_fingerprint_columns(ratings_df).first()
    return f"{row['ratings']}-{row['checksum']}", int(row["ratings"])


def stored_input_hashes(spark: SparkSession, model_version: str) -> set[str]:
    rows = (
        spark.table("content_embeddings")
        .filter((F.col("modality") == BEHAVIOUR) & (F.col("model_version") == model_version))
        .select("input_hash")
        .distinct()
        .collect()
    )
    return {row["input_hash"] for row in rows}


def fit_als(ratings_df: DataFrame, settings: BehaviourSettings):
    """The ALS model and the (content_id, item_idx) map it was fitted with.

    Reproducible: ids in sorted order, the ratings in ``blocks`` partitions by user and
    sorted within them (ALS's blocks and its sums follow the input order), fixed seed.
    """
    indexed_df = ratings_df.transform(with_dense_ids, "user_id", "user_idx").transform(
        with_dense_ids, "content_id", "item_idx"
    )
    input_df = indexed_df.repartition(settings.blocks, "user_idx").sortWithinPartitions(
        "user_idx", "item_idx"
    )
    als = ALS(
        rank=settings.rank,
        maxIter=settings.max_iter,
        regParam=settings.reg_param,
        alpha=settings.alpha,
        implicitPrefs=True,
        userCol="user_idx",
        itemCol="item_idx",
        ratingCol="confidence",
        seed=settings.seed,
        numUserBlocks=settings.blocks,
        numItemBlocks=settings.blocks,
        coldStartStrategy="drop",
    )
    model = als.fit(input_df)
    return model, indexed_df.select("content_id", "item_idx").distinct()


def item_vectors(ratings_df: DataFrame, settings: BehaviourSettings) -> DataFrame:
    """(content_id, embedding): each rated item's L2-normalised ALS factor (an all-zero
    factor, which has no direction, is dropped)."""
    model, items_df = fit_als(ratings_df, settings)
    factors_df = model.itemFactors.select(
        F.col("id").alias("item_idx"),
        F.transform(l2_normalised(F.col("features")), lambda x: x.cast("float")).alias("embedding"),
    )
    return (
        items_df.join(factors_df, on="item_idx", how="inner")
        .filter(F.col("embedding").isNotNull())
        .select("content_id", "embedding")
    )


def behaviour_rows(
    vectors_df: DataFrame, model_version: str, input_hash: str, run_date: date
) -> DataFrame:
    return vectors_df.select(
        "content_id",
        F.lit(BEHAVIOUR).alias("modality"),
        F.lit(MODEL_NAME).alias("model_name"),
        F.lit(model_version).alias("model_version"),
        F.size("embedding").alias("dim"),
        F.lit(input_hash).alias("input_hash"),
        "embedding",
        F.lit(run_date).alias("embedded_date"),
    )


def replace_behaviour_vectors(spark: SparkSession, rows_df: DataFrame, model_version: str) -> None:
    """The fit's vectors replace the model version's behaviour vectors, in one commit: an
    item that dropped under min_users loses its stale vector."""
    key = (
        "t.content_id = s.content_id and t.modality = s.modality "
        "and t.model_version = s.model_version"
    )
    mine = (F.col("t.modality") == F.lit(BEHAVIOUR)) & (
        F.col("t.model_version") == F.lit(model_version)
    )
    (
        DeltaTable.forName(spark, "content_embeddings")
        .alias("t")
        .merge(rows_df.alias("s"), key)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .whenNotMatchedBySourceDelete(condition=mine)
        .execute()
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
