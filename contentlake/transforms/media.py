"""Catalogue media references -> resolved files -> keyframe and media-status rows.

Pure DataFrame -> DataFrame functions around the executors' decode (``udfs/media_extraction``):
which media an item names, where its URI points, which items need decoding again, and the
shapes of ``content_keyframes`` and ``content_media_status``.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contentlake.contract import MEDIA_URI_COLUMNS

LANDING_SCHEME = "landing://"
KEYFRAME_KEY = ("content_id", "kind", "shot_index", "keyframe_index", "detector_version")
STATUS_KEY = ("content_id", "media_kind", "detector_version")
# A URI with a scheme (hdfs://, s3://, file://) or an absolute path is taken as it is.
_ABSOLUTE = r"^([a-zA-Z][a-zA-Z0-9+.-]*://|/)"
# A relative URI may not climb out of the root.
_CLIMBS = r"(^|/)\.\.(/|$)"


def explode_media_inputs(content_df: DataFrame) -> DataFrame:
    """One row per item and media kind it names: ``content_id, media_kind, source_uri``."""
    entries = F.array(
        *[
            F.struct(F.lit(kind).alias("media_kind"), F.col(column).alias("source_uri"))
            for column, kind in MEDIA_URI_COLUMNS.items()
        ]
    )
    return (
        content_df.select("content_id", F.explode(entries).alias("media"))
        .select("content_id", "media.media_kind", "media.source_uri")
        .filter(F.col("source_uri").isNotNull())
    )


def resolved_uri(source_uri: Column, root: str) -> Column:
    """``landing://x`` and a relative ``x`` -> ``<root>/x``; a URI with a scheme or an
    absolute path stays; null for a relative URI that climbs out of the root (``..``)."""
    base = root.rstrip("/")
    relative = F.when(
        source_uri.startswith(LANDING_SCHEME),
        F.substring(source_uri, len(LANDING_SCHEME) + 1, 1 << 20),
    ).when(~source_uri.rlike(_ABSOLUTE), source_uri)
    return (
        F.when(relative.isNull(), source_uri)
        .when(relative.rlike(_CLIMBS), F.lit(None))
        .otherwise(F.concat(F.lit(base + "/"), F.regexp_replace(relative, "^/+", "")))
    )


def with_resolved_uri(inputs_df: DataFrame, root: str) -> DataFrame:
    return inputs_df.withColumn("resolved_uri", resolved_uri(F.col("source_uri"), root))


def filter_needs_extraction(
    fingerprinted_df: DataFrame, status_df: DataFrame, detector_version: str
) -> DataFrame:
    """Drop media whose stored status already has this input hash and detector version
    (ok or not: a bad file is only looked at again when it changes)."""
    done_df = status_df.filter(F.col("detector_version") == detector_version).select(
        "content_id", "media_kind", "media_input_hash"
    )
    return fingerprinted_df.join(
        done_df, on=["content_id", "media_kind", "media_input_hash"], how="left_anti"
    )


def filter_stale_status(
    status_df: DataFrame, inputs_df: DataFrame, detector_version: str
) -> DataFrame:
    """Stored statuses of media the catalogue no longer names: ``content_id, media_kind``."""
    return (
        status_df.filter(F.col("detector_version") == detector_version)
        .select("content_id", "media_kind")
        .join(
            inputs_df.select("content_id", "media_kind"), ["content_id", "media_kind"], "left_anti"
        )
    )


def keyframe_kind(media_kind: Column) -> Column:
    return F.when(media_kind == "poster", F.lit("poster")).otherwise(F.lit("keyframe"))


def explode_keyframe_rows(
    extracted_df: DataFrame, detector_version: str, run_date: date
) -> DataFrame:
    """``content_keyframes`` rows: one per keyframe of each extracted item."""
    return extracted_df.select(
        "content_id",
        "media_kind",
        "source_uri",
        "media_input_hash",
        "duration_seconds",
        F.explode("keyframes").alias("k"),
    ).select(
        "content_id",
        keyframe_kind(F.col("media_kind")).alias("kind"),
        "k.shot_index",
        "k.keyframe_index",
        "k.frame_index",
        "k.timestamp_seconds",
        F.col("duration_seconds").alias("media_duration_seconds"),
        "k.frame_hash",
        "k.image",
        "k.image_format",
        "k.width",
        "k.height",
        "source_uri",
        "media_input_hash",
        F.lit(detector_version).alias("detector_version"),
        F.lit(run_date).alias("extracted_date"),
    )


def media_status_rows(
    extracted_df: DataFrame,
    detector_version: str,
    keyframe_limit: int,
    run_date: date,
    run_id: str,
) -> DataFrame:
    """``content_media_status`` rows: one per extracted item and media kind."""
    return extracted_df.select(
        "content_id",
        "media_kind",
        "source_uri",
        "resolved_uri",
        "media_input_hash",
        F.lit(detector_version).alias("detector_version"),
        "status",
        "detail",
        "codec",
        "width",
        "height",
        "duration_seconds",
        "frames_decoded",
        "shots",
        F.size("keyframes").alias("keyframes"),
        F.lit(keyframe_limit).alias("keyframe_limit"),
        F.lit(run_date).alias("checked_date"),
        F.lit(run_id).alias("run_id"),
    )


def with_removals(
    new_rows_df: DataFrame,
    stored_df: DataFrame,
    replaced_df: DataFrame,
    key: tuple[str, ...],
    item_key: tuple[str, ...],
) -> DataFrame:
    """``new_rows_df`` plus a ``_remove`` row for each stored row of a replaced item
    (``replaced_df``: its ``item_key``) that the new rows lack: one MERGE then replaces
    every row of those items at once, deleting what is gone."""
    stale_df = (
        stored_df.join(replaced_df.select(*item_key).distinct(), list(item_key), "left_semi")
        .join(new_rows_df.select(*key), list(key), "left_anti")
        .select(*key)
    )
    marked_df = new_rows_df.withColumn("_remove", F.lit(False))
    return marked_df.unionByName(
        stale_df.withColumn("_remove", F.lit(True)), allowMissingColumns=True
    )
