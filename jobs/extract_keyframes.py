"""Decode the catalogue's posters and videos into keyframes, on the executors.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/extract_keyframes.py --run-date 2026-11-01

(``python -m contentlake.submit extract_keyframes --run-date ...`` adds every option from
``conf/``.) Each item's ``poster_uri`` and ``video_uri`` in ``content`` resolve under
``media.root`` (default ``paths.landing``). Executors stat every named file and only media
whose fingerprint (resolved URI, size, modification time) or detector version changed since
the stored status are decoded: shots are detected (``media.shot_detector``), keyframes kept
per shot (at most ``media.max_keyframes_per_item``) and written to ``content_keyframes``; a
poster becomes one row there (shot -1). Every decoded item gets its row in
``content_media_status``: ``ok`` or the reason it gave nothing (missing_file, truncated,
unsupported_codec, ...). A bad file never stops the run. See docs/media.md.
"""

from __future__ import annotations

import logging
import sys
from datetime import date

from contentlake.udfs.media_extraction import (
    EXTRACTED_SCHEMA,
    FINGERPRINT_SCHEMA,
    extraction_batches,
    fingerprint_batches,
)
from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.media_decode import detector_version
from contentlake.observability import timed_stage
from contentlake.transforms.media import (
    KEYFRAME_KEY,
    STATUS_KEY,
    explode_keyframe_rows,
    explode_media_inputs,
    filter_needs_extraction,
    filter_stale_status,
    media_status_rows,
    with_removals,
    with_resolved_uri,
)

JOB = "extract_keyframes"
logger = logging.getLogger(__name__)


def media_root(cfg: Config) -> str:
    """Where relative and landing:// URIs resolve: ``media.root``, else the landing folder."""
    return cfg.media.root or str(cfg.paths.landing)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        settings = cfg.media
        version = detector_version(settings)
        inputs_df = spark.table("content").transform(explode_media_inputs)
        status_df = spark.table("content_media_status")
        pending_df = pending_media(spark, cfg, inputs_df, status_df, version)
        with timed_stage(logger, "decode pending media"):
            extracted_df = extract(spark, cfg, pending_df).persist(StorageLevel.MEMORY_AND_DISK)
            # Materialised once: both MERGEs read it, and decoding must not run twice.
            counts = {
                row.status: row.n
                for row in extracted_df.groupBy("status")
                .count()
                .withColumnRenamed("count", "n")
                .collect()
            }
        try:
            stale_df = filter_stale_status(status_df, inputs_df, version).localCheckpoint()
            decoded, stale = sum(counts.values()), stale_df.count()
            if decoded or stale:
                with (
                    timed_stage(logger, "merge and check keyframes and statuses"),
                    job.gate_together(),
                ):
                    write(spark, job, extracted_df, stale_df, version, run_date)
            else:
                # Nothing changed: no commit at all, so a rerun leaves every version as it was.
                job.check("content_keyframes", also=("content_media_status",))
        finally:
            extracted_df.unpersist()
        failed = decoded - counts.get("ok", 0)
        return job.finish(
            rows_in=decoded,
            rows_written=counts.get("ok", 0),
            rows_quarantined=failed,
            details={
                "detector_version": version,
                "removed_media": stale,
                **{f"media.{status}": n for status, n in sorted(counts.items())},
            },
        )


def pending_media(
    spark: SparkSession, cfg: Config, inputs_df: DataFrame, status_df: DataFrame, version: str
) -> DataFrame:
    """The catalogue's media whose file or detector changed since their stored status,
    fingerprinted on the executors."""
    located_df = inputs_df.transform(with_resolved_uri, media_root(cfg))
    fingerprinted_df = located_df.mapInPandas(fingerprint_batches, FINGERPRINT_SCHEMA)
    return filter_needs_extraction(fingerprinted_df, status_df, version)


def extract(spark: SparkSession, cfg: Config, pending_df: DataFrame) -> DataFrame:
    """One EXTRACTED_SCHEMA row per pending media file; decoded on an even spread of tasks."""
    partitions = cfg.media.partitions or spark.sparkContext.defaultParallelism
    return pending_df.repartition(partitions).mapInPandas(
        extraction_batches(cfg.media), EXTRACTED_SCHEMA
    )


def write(spark, job, extracted_df: DataFrame, stale_df: DataFrame, version: str, run_date: date):
    """Keyframes first, statuses second: a status row says its item's keyframes are in
    place, so a run that stops between the two decodes those items again next time. The
    caller gates both writes together."""
    keyframes_df = explode_keyframe_rows(extracted_df, version, run_date)
    replaced_df = extracted_df.select(
        "content_id",
        F.when(F.col("media_kind") == "poster", "poster").otherwise("keyframe").alias("kind"),
    ).unionByName(
        stale_df.select(
            "content_id",
            F.when(F.col("media_kind") == "poster", "poster").otherwise("keyframe").alias("kind"),
        )
    )
    stored_df = spark.table("content_keyframes").filter(F.col("detector_version") == version)
    keyframe_source_df = with_removals(
        keyframes_df, stored_df, replaced_df, KEYFRAME_KEY, ("content_id", "kind")
    )
    job.gated_write(
        "content_keyframes",
        lambda: merge_replacing(spark, "content_keyframes", keyframe_source_df, KEYFRAME_KEY),
    )
    status_rows_df = media_status_rows(
        extracted_df, version, job.cfg.media.max_keyframes_per_item, run_date, job.run_id
    )
    stored_status_df = spark.table("content_media_status").filter(
        F.col("detector_version") == version
    )
    status_source_df = with_removals(
        status_rows_df, stored_status_df, stale_df, STATUS_KEY, ("content_id", "media_kind")
    )
    job.gated_write(
        "content_media_status",
        lambda: merge_replacing(spark, "content_media_status", status_source_df, STATUS_KEY),
    )


def merge_replacing(spark: SparkSession, table: str, source_df: DataFrame, key) -> None:
    """One MERGE: insert new rows, update changed ones, delete rows marked ``_remove``.
    A row whose values are unchanged is not rewritten."""
    condition = " and ".join(f"t.{column} = s.{column}" for column in key)
    columns = [c for c in spark.table(table).columns if c not in key]
    changed = " or ".join(
        f"not (t.{c} <=> s.{c})"
        for c in columns
        if c not in ("extracted_date", "checked_date", "run_id")
    )
    values = {c: f"s.{c}" for c in spark.table(table).columns}
    (
        DeltaTable.forName(spark, table)
        .alias("t")
        .merge(source_df.alias("s"), condition)
        .whenMatchedDelete(condition="s._remove")
        .whenMatchedUpdate(condition=f"not s._remove and ({changed})", set=values)
        .whenNotMatchedInsert(condition="not s._remove", values=values)
        .execute()
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
