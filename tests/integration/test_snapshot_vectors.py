"""Snapshot vectors held on the driver or spread over Spark partitions give the same index."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from contentlake.config import load_config
from contentlake.index_choice import exact_neighbours
from contentlake.snapshot_vectors import (
    collect_vectors,
    count_bad_vectors,
    exact_neighbours_in_spark,
)

N, DIM = 600, 16
CANDIDATES = (
    {"name": "flat", "factory": "Flat"},
    {"name": "ivf_flat", "factory": "IVF{nlist},Flat", "search": {"nprobe": [1, 2, 4, 8, 16]}},
)


def clustered(n: int, dim: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, dim))
    vectors = centres[rng.integers(0, 12, n)] + 0.4 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def vectors():
    return clustered(N, DIM)


@pytest.fixture(scope="module")
def items_df(spark, vectors):
    # Shuffled rows: index rows must follow content_id, not the order rows arrive in.
    order = np.random.default_rng(0).permutation(N)
    rows = [
        (
            f"c{i:06d}",
            f"h{i}",
            "v1",
            vectors[i].tolist(),
            f"title {i}",
            "",
            "movie",
            "en",
            ["drama"],
        )
        for i in order
    ]
    schema = (
        "content_id string, input_hash string, model_version string, embedding array<float>, "
        "title string, description string, content_type string, language string, "
        "genres array<string>"
    )
    return spark.createDataFrame(rows, schema).repartition(3)


def settings(driver_max_vectors: int):
    index = load_config(profile="local").index
    return dataclasses.replace(
        index,
        candidates=CANDIDATES,
        driver_max_vectors=driver_max_vectors,
        choice_queries=100,
        latency_queries=20,
        max_train_points=400,
    )


def test_a_set_over_the_driver_limit_is_sampled_and_built_over_partitions(items_df, vectors):
    sharded = collect_vectors(items_df, settings(driver_max_vectors=100))

    assert sharded.ids == [f"c{i:06d}" for i in range(N)]
    assert sharded.items.column("content_id").to_pylist() == sharded.ids
    assert len(sharded.matrix) == 400
    np.testing.assert_array_equal(sharded.matrix, vectors[sharded.sample_positions])
    assert sharded.bad_vectors.passed

    # IVF alone: the lists are trained on the sample and filled by the partitions.
    ivf_only = dataclasses.replace(settings(100), candidates=CANDIDATES[1:])
    index, entries = sharded.builder(ivf_only, lambda line: None)(sharded.matrix)

    assert index.ntotal == N
    # Row i of the merged index is item i's vector (IVF-Flat reconstructs exactly).
    np.testing.assert_array_equal(index.reconstruct_n(0, N), vectors)
    assert entries["build"]["sharded"] is True
    assert entries["build"]["recall_at_10"] >= 0.95
    # Sized for all 600 rows and the 400 training points (8 lists of >= 39 points each).
    assert entries["factory"] == "IVF8,Flat"
    assert entries["search_params"].startswith("nprobe=")
    assert entries["choice"]["chosen"] == "ivf_flat"


def test_a_set_under_the_limit_stays_on_the_driver_whole(items_df, vectors):
    held = collect_vectors(items_df, settings(driver_max_vectors=N))

    assert held.sample_positions is None and held.positioned_df is None
    np.testing.assert_array_equal(held.matrix, vectors)


def test_spark_brute_force_finds_the_same_neighbours_as_the_driver(spark, vectors):
    positioned_df = spark.createDataFrame(
        [(i, vectors[i].tolist()) for i in range(N)], "position long, embedding array<float>"
    ).repartition(4)
    query_rows = np.array([0, 17, 299, 599])

    found = exact_neighbours_in_spark(
        positioned_df, vectors[query_rows], query_rows, 10, "inner_product"
    )

    expected = exact_neighbours(vectors, vectors[query_rows], 10, "inner_product", query_rows)
    np.testing.assert_array_equal(found, expected)


def test_nan_and_zero_vectors_are_counted_over_every_row(spark):
    vectors_df = spark.createDataFrame(
        [([1.0, 0.0],), ([float("nan"), 1.0],), ([0.0, 0.0],), ([float("inf"), 0.0],)],
        "embedding array<float>",
    )

    result = count_bad_vectors(vectors_df)

    assert not result.passed
    assert result.detail == "2 vectors with NaN or infinite values; 1 zero vectors"
