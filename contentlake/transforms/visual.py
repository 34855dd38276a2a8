"""Which frames make an item's visual vector, its input hash, and the pooling of frame
vectors into one vector per item (jobs/embed_media.py)."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from contentlake.transforms.vectors import l2_normalised, mean_vectors


def select_item_frames(keyframes_df: DataFrame, include_poster: bool) -> DataFrame:
    """(content_id, frame_hash, image): each item's distinct frames from its most recent
    extraction (a new detector version writes beside the old one; the latest extraction
    date wins, then the larger version). A frame seen twice (a poster that is also a
    keyframe, a static shot) counts once."""
    kinds = ["keyframe", "poster"] if include_poster else ["keyframe"]
    latest = Window.partitionBy("content_id").orderBy(
        F.col("extracted_date").desc(), F.col("detector_version").desc()
    )
    ranked_df = (
        keyframes_df.filter(F.col("kind").isin(kinds))
        .withColumn("detector_rank", F.dense_rank().over(latest))
        .filter(F.col("detector_rank") == 1)
    )
    return ranked_df.groupBy("content_id", "frame_hash").agg(
        F.min_by("image", F.struct("kind", "shot_index", "keyframe_index")).alias("image")
    )


def with_visual_input_hash(frames_df: DataFrame) -> DataFrame:
    """(content_id, input_hash): sha256 of the item's sorted frame hashes, so the vector is
    recomputed exactly when the set of frames it pools changes."""
    return frames_df.groupBy("content_id").agg(
        F.sha2(F.concat_ws(",", F.array_sort(F.collect_set("frame_hash"))), 256).alias("input_hash")
    )


def pool_frame_vectors(frame_vectors_df: DataFrame) -> DataFrame:
    """(content_id, embedding, frames): the L2-normalised mean of the item's L2-normalised
    frame vectors (frames with no vector, an image that did not decode, are left out;
    an item none of whose frames decoded gets no row)."""
    unit_df = frame_vectors_df.select(
        "content_id", l2_normalised(F.col("embedding")).alias("unit")
    ).filter(F.col("unit").isNotNull())
    pooled_df = mean_vectors(unit_df, ["content_id"], "unit", "mean")
    return pooled_df.select(
        "content_id",
        F.transform(l2_normalised(F.col("mean")), lambda x: x.cast("float")).alias("embedding"),
        F.col("members").cast("int").alias("frames"),
    )
