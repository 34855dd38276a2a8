"""Fusion of per-modality vectors: the block math and the missing-modality rule, exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from contentlake.transforms.fusion import fuse_modalities
from contentlake.transforms.vectors import mean_vectors

VECTORS = "content_id string, modality string, input_hash string, embedding array<float>"
ITEMS = "content_id string, genres array<string>, content_type string"
FUSED = (
    "content_id string, embedding array<double>, modalities array<string>, imputed array<string>"
)
# Shares 0.36 / 0.64: blocks scaled by 0.6 and 0.8.
SHARES = {"text": 9 / 25, "visual": 16 / 25}


def unit(vector: list[float]) -> list[float]:
    """Normalised as the Spark expression does: sequential sum of squares, one sqrt."""
    total = 0.0
    for x in vector:
        total += x * x
    norm = math.sqrt(total)
    return [x / norm for x in vector]


def block(vector: list[float], share: float) -> list[float]:
    return [x * math.sqrt(share) for x in unit(vector)]


def fused(text: list[float], visual: list[float]) -> list[float]:
    return block(text, SHARES["text"]) + block(visual, SHARES["visual"])


def vectors_and_items(spark):
    vectors_df = spark.createDataFrame(
        [
            ("a", "text", "ta", [3.0, 4.0]),
            ("a", "visual", "va", [2.0, 0.0, 0.0]),
            ("b", "text", "tb", [0.0, 2.0]),
            ("b", "visual", "vb", [0.0, 0.0, 5.0]),
            ("c", "text", "tc", [1.0, 0.0]),  # no visual; genre drama like a
            ("d", "text", "td", [1.0, 1.0]),  # no visual; genre alone, content type like b
            ("e", "visual", "ve", [0.0, 3.0, 0.0]),  # no text; no genre, a movie like a
            ("f", "text", "tf", [0.0, 7.0]),  # no visual in its genre or type: all items'
            ("x", "behaviour", "bx", [1.0]),  # a modality not fused
        ],
        VECTORS,
    )
    items_df = spark.createDataFrame(
        [
            ("a", ["drama", "comedy"], "movie"),
            ("b", ["horror"], "clip"),
            ("c", ["drama"], "episode"),
            ("d", ["western"], "clip"),
            ("e", None, "movie"),
            ("f", ["noir"], "series"),
        ],
        ITEMS,
    )
    return vectors_df, items_df


@pytest.fixture(scope="module")
def fused_df(spark):
    """Fused once for the module's tests (the plan has a dozen shuffles)."""
    vectors_df, items_df = vectors_and_items(spark)
    fused_df = fuse_modalities(vectors_df, items_df, SHARES).cache()
    yield fused_df
    fused_df.unpersist()


def test_blocks_are_unit_vectors_scaled_by_the_root_of_their_share_and_gaps_are_group_means(
    spark, fused_df
):

    drama_visual = [2.0, 0.0, 0.0]  # a is the only drama item with a visual vector
    clip_visual = [0.0, 0.0, 5.0]  # b is the only clip with one (d's genre has none)
    movie_text = [3.0, 4.0]  # e has no genre; a is the only movie
    all_visual = [1 / 3, 1 / 3, 1 / 3]  # mean of the unit visual vectors of a, b and e
    expected = spark.createDataFrame(
        [
            ("a", fused([3.0, 4.0], [2.0, 0.0, 0.0]), ["text", "visual"], []),
            ("b", fused([0.0, 2.0], [0.0, 0.0, 5.0]), ["text", "visual"], []),
            ("c", fused([1.0, 0.0], drama_visual), ["text"], ["visual"]),
            ("d", fused([1.0, 1.0], clip_visual), ["text"], ["visual"]),
            ("e", fused(movie_text, [0.0, 3.0, 0.0]), ["visual"], ["text"]),
            ("f", fused([0.0, 7.0], all_visual), ["text"], ["visual"]),
        ],
        FUSED,
    )
    assert_df_equality(
        fused_df.drop("input_hash"), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_the_dot_product_of_fused_vectors_is_the_share_weighted_mean_of_cosines(fused_df):
    rows = fused_df.collect()
    by_id = {row["content_id"]: np.array(row["embedding"]) for row in rows}

    a, b = by_id["a"], by_id["b"]
    cos_text = np.dot(unit([3.0, 4.0]), unit([0.0, 2.0]))
    cos_visual = np.dot(unit([2.0, 0.0, 0.0]), unit([0.0, 0.0, 5.0]))
    assert abs(np.linalg.norm(a) - 1) < 1e-15
    assert abs(a @ b - (0.36 * cos_text + 0.64 * cos_visual)) < 1e-15


def test_an_input_hash_changes_with_the_items_inputs_or_the_group_it_was_filled_from(
    spark, fused_df
):
    vectors_df, items_df = vectors_and_items(spark)
    before = {r["content_id"]: r["input_hash"] for r in fused_df.collect()}
    # b's visual input changes: b, d (filled from the clip group, b alone) and f (filled
    # from all items); not c (filled from drama) nor e (its own visual, a movie's text).
    changed_df = vectors_df.withColumn(
        "input_hash",
        F.when((F.col("content_id") == "b") & (F.col("modality") == "visual"), "vb2").otherwise(
            F.col("input_hash")
        ),
    )
    after = {
        r["content_id"]: r["input_hash"]
        for r in fuse_modalities(changed_df, items_df, SHARES).collect()
    }

    assert {cid for cid in before if before[cid] != after[cid]} == {"b", "d", "f"}


def test_mean_vectors_averages_by_position_and_counts_members(spark):
    df = spark.createDataFrame(
        [("g", [1.0, 2.0, 3.0]), ("g", [3.0, 2.0, 1.0]), ("h", [5.0, 5.0, 5.0])],
        "group string, v array<double>",
    )
    expected = spark.createDataFrame(
        [("g", [2.0, 2.0, 2.0], 2), ("h", [5.0, 5.0, 5.0], 1)],
        "group string, mean array<double>, members long",
    )
    assert_df_equality(
        mean_vectors(df, ["group"], "v", "mean"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_the_fused_version_names_the_modalities_present_and_survives_a_missing_one():
    from contentlake.modality_settings import FusionSettings, fused_model_version

    settings = FusionSettings()
    all_three = {"text": "t1", "visual": "v1", "behaviour": "b1"}
    # A catalogue without media has no visual vectors: a version of the other two, which
    # changes when visual vectors appear and when any present modality's model changes.
    without_media = fused_model_version(settings, {"text": "t1", "behaviour": "b1"})
    assert without_media != fused_model_version(settings, all_three)
    assert without_media != fused_model_version(settings, {"text": "t2", "behaviour": "b1"})
    assert without_media == fused_model_version(settings, {"behaviour": "b1", "text": "t1"})
    assert fused_model_version(FusionSettings(model_version="pinned"), {}) == "pinned"
