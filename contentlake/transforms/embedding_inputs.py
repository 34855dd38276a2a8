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


def filter_changed_items(inputs_df: DataFrame, changed_df: DataFrame) -> DataFrame:
    """Keep the items ``changed_df`` (``content_id``) names: the rows the Change Data Feed
    says changed since the last embedding. Followed by :func:`filter_needs_embedding`, this
    selects what the hash join alone selects, provided every other item already has its
    vector (``contentlake.embedding_changes`` checks that before taking this path)."""
    return inputs_df.join(changed_df.select("content_id"), on="content_id", how="left_semi")
