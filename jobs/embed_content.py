"""Embed content text (title, description, genres, tags) into ``content_embeddings``.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/embed_content.py --run-date 2026-11-01

Only items whose input text or model version changed since their stored vector are sent
to the model, so a rerun embeds nothing and a catalogue update embeds just the updates.
They are found from the ``content`` rows changed since the version last embedded (Change
Data Feed) where that tells the whole story, else by hashing every item's text
(``embedding.change_source``, ``contentlake/embedding_changes.py``).
The model runs in a pandas UDF (``udfs/text_embedding.py``), on CUDA when the worker has
a GPU and on the CPU otherwise.
"""

from __future__ import annotations

import logging
import sys
from datetime import date

from contentlake.udfs.text_embedding import model_fingerprint, text_embedding_udf
from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.commit_tags import tagged_commits
from contentlake.config import Config
from contentlake.embedding_changes import (
    CDF,
    CONTENT_VERSION_TAG,
    INPUT_HASH,
    MODEL_VERSION_TAG,
    ChangeSource,
    changed_content,
    choose_change_source,
)
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.observability import timed_stage
from contentlake.tables import table_version
from contentlake.transforms.embedding_inputs import (
    filter_needs_embedding,
    with_embedding_text,
    with_input_hash,
)

JOB = "embed_content"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        settings = cfg.embedding
        model_version = settings.model_version or model_fingerprint(settings.model)
        # One version of content for the whole run, recorded with the vectors: the next
        # run reads the changes after it, and lineage follows a vector back to it.
        content_version = table_version(spark, "content")
        pending_df, source = pending_items(
            spark, cfg, model_version, content_version, settings.change_source
        )
        logger.info("pending items from %s (%s)", source.kind, source.reason)
        with timed_stage(logger, "embed pending items"):
            vectors_df = embed(spark, cfg, pending_df, model_version, run_date).persist(
                StorageLevel.MEMORY_AND_DISK
            )
            # Materialise once: Delta's MERGE reads its source twice and must not run the
            # model twice.
            embedded = vectors_df.count()
        try:
            with timed_stage(logger, "merge and check content_embeddings"):
                if embedded:
                    # The source stays persisted: a retry re-MERGEs the same vectors against
                    # the new snapshot without running the model again.
                    tag = {CONTENT_VERSION_TAG: content_version, MODEL_VERSION_TAG: model_version}
                    with tagged_commits(spark, **tag):
                        job.gated_write(
                            "content_embeddings", lambda: merge_embeddings(spark, vectors_df)
                        )
                else:
                    job.check("content_embeddings")
            logger.info("embedded %d items with %s (%s)", embedded, settings.model, model_version)
        finally:
            vectors_df.unpersist()
        return job.finish(
            rows_in=embedded,
            rows_written=embedded,
            details={
                "model": settings.model,
                "model_version": model_version,
                "content_version": content_version,
                "change_source": source.kind,
            },
        )


def pending_items(
    spark: SparkSession, cfg: Config, model_version: str, content_version: int, setting: str
) -> tuple[DataFrame, ChangeSource]:
    """The items of ``content`` at ``content_version`` to (re-)embed and how they were
    found: from the Change Data Feed where ``setting`` allows it and the feed tells the
    whole story, else by joining every item's input hash with the stored vectors."""
    source = choose_change_source(spark, setting, model_version, content_version)
    changed_df = changed_content(spark, source) if source.kind == CDF else None
    if source.kind == CDF and changed_df is None:
        source = ChangeSource(INPUT_HASH, "change data feed unreadable")
    embeddings_df = spark.table("content_embeddings")
    if changed_df is None:
        content_df = spark.read.option("versionAsOf", content_version).table("content")
    else:
        # The feed's rows are the changed items as of content_version: only they are hashed,
        # and only their stored vectors are compared.
        content_df = changed_df
        embeddings_df = embeddings_df.join(
            changed_df.select("content_id"), on="content_id", how="left_semi"
        )
    inputs_df = (
        content_df.transform(with_embedding_text)
        .transform(with_input_hash)
        .select("content_id", "embedding_text", "input_hash")
    )
    pending_df = filter_needs_embedding(
        inputs_df, embeddings_df, cfg.embedding.modality, model_version
    )
    return pending_df, source


def embed(
    spark: SparkSession, cfg: Config, pending_df: DataFrame, model_version: str, run_date: date
) -> DataFrame:
    """Rows for ``content_embeddings``; the model runs on an even spread over the cores."""
    settings = cfg.embedding
    partitions = settings.partitions or spark.sparkContext.defaultParallelism
    # Many texts per model call let the encoder sort them by length at once; the UDF
    # regroups Arrow batches itself, so the session's Arrow setting stays untouched.
    embed_text = text_embedding_udf(
        settings.model, settings.device, settings.batch_size, settings.texts_per_call
    )
    logger.info(
        "embedding with %s (device %s) in %d partitions, up to %d texts per model call",
        settings.model,
        settings.device,
        partitions,
        settings.texts_per_call,
    )
    return (
        pending_df.repartition(partitions)
        .withColumn("embedding", embed_text("embedding_text"))
        .select(
            "content_id",
            F.lit(settings.modality).alias("modality"),
            F.lit(settings.model).alias("model_name"),
            F.lit(model_version).alias("model_version"),
            F.size("embedding").alias("dim"),
            "input_hash",
            "embedding",
            F.lit(run_date).alias("embedded_date"),
        )
    )


def merge_embeddings(spark: SparkSession, vectors_df: DataFrame) -> None:
    """One vector per (content_id, modality, model_version): replace it when its input
    changed. A new model's vectors go beside the old model's, which keep serving until the
    new model's snapshot passes its gates (docs/operations.md, changing the model)."""
    key = (
        "t.content_id = s.content_id and t.modality = s.modality "
        "and t.model_version = s.model_version"
    )
    (
        DeltaTable.forName(spark, "content_embeddings")
        .alias("t")
        .merge(vectors_df.alias("s"), key)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
