"""What gets embedded for each content item, and which items need (re-)embedding."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def with_embedding_text(content_df: DataFrame) -> DataFrame:
    """``embedding_text``: title, description, genres and tags as one passage.

    Labels keep the parts apart for the model; missing parts are simply left out.
    """
    genres = F.array_join(F.coalesce("genres", F.array()), ", ")
    tags = F.array_join(F.coalesce("tags", F.array()), ", ")
    text = F.concat_ws(
        ". ",
        F.col("title"),
        F.col("description"),
        F.when(genres != "", F.concat(F.lit("Genres: "), genres)),
        F.when(tags != "", F.concat(F.lit("Tags: "), tags)),
    )
    return content_df.withColumn("embedding_text", text)


def with_input_hash(df: DataFrame) -> DataFrame:
    """``input_hash``: sha256 of the exact text the model sees."""
    return df.withColumn("input_hash", F.sha2(F.col("embedding_text"), 256))


def filter_needs_embedding(
    inputs_df: DataFrame, embeddings_df: DataFrame, modality: str, model_version: str
) -> DataFrame:
    """Drop items whose stored vector already has this input hash and model version."""
    current_df = embeddings_df.filter(
        (F.col("modality") == modality) & (F.col("model_version") == model_version)
    ).select("content_id", "input_hash")
    pending_df = inputs_df.join(current_df, on=["content_id", "input_hash"], how="left_anti")
    return pending_df.select(*inputs_df.columns)


def latest_changed_rows(changes_df: DataFrame, columns: list[str]) -> DataFrame:
    """From a Change Data Feed read (``_change_type``, ``_commit_version``): each changed
    item's row as its last change left it, ``columns`` only; an item whose last change
    deleted it is dropped. Followed by :func:`filter_needs_embedding`, this selects what
    the hash join over the whole table selects, provided every unchanged item already has
    its vector (``contentlake.embedding_changes`` checks that before taking this path)."""
    row = F.struct(*columns, "_change_type")
    last_df = (
        changes_df.filter(F.col("_change_type") != "update_preimage")
        .groupBy("content_id")
        .agg(F.max_by(row, "_commit_version").alias("last"))
    )
    return last_df.filter(F.col("last._change_type") != "delete").select(
        *[F.col(f"last.{name}").alias(name) for name in columns]
    )
