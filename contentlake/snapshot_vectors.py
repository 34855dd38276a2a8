"""The vectors a snapshot is built from: on the driver, or spread over Spark partitions.

Up to ``index.driver_max_vectors`` the driver collects every vector, chooses the index on
them (``index_choice.choose_index``) and builds it. Above that it never holds them all:

- ids, input hashes and the items' metadata (no vectors) come to the driver in index-row
  order, with a seeded sample of vectors at known rows;
- the index is chosen on the sample, trained on it, and every partition adds its rows
  (``index_choice.add_in_partitions``); the driver merges the shards one at a time;
- the chosen search parameter is tuned again on the full index, against exact neighbours
  that Spark finds by brute force over every partition, so the recall in the manifest is
  the published index's, not the sample's;
- NaN, infinite and zero vectors are counted by Spark over every row, not on the sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from contentlake import index_choice
from contentlake.config import IndexSettings
from contentlake.snapshot_gates import ZERO_NORM, GateResult

ITEM_COLUMNS = ("content_id", "title", "description", "content_type", "language", "genres")
Builder = Callable[[np.ndarray], tuple[faiss.Index, dict[str, Any]]]


@dataclass
class SnapshotVectors:
    """What ``publish_snapshot`` needs, however the vectors are held.

    ``matrix`` holds every vector (``sample_positions`` None) or a sample of them at those
    index rows; ``bad_vectors`` is Spark's count over every row for a sharded build.
    """

    ids: list[str]
    input_hashes: list[str]
    model_versions: list[str]
    items: pa.Table | None
    matrix: np.ndarray
    sample_positions: np.ndarray | None = None
    bad_vectors: GateResult | None = None
    positioned_df: DataFrame | None = None

    def builder(self, settings: IndexSettings, log: Callable[[str], None]) -> Builder:
        if self.positioned_df is None:
            return index_choice.configured_builder(settings, log)
        return _sharded_builder(self, settings, log)


def collect_vectors(items_df: DataFrame, settings: IndexSettings, seed: int = 0) -> SnapshotVectors:
    """``items_df`` (content_id, input_hash, model_version, embedding and the item columns,
    one row per item) as :class:`SnapshotVectors`; index rows follow ``content_id``."""
    total = items_df.count()
    if total <= settings.driver_max_vectors:
        pdf = items_df.orderBy("content_id").toPandas()
        matrix = (
            np.vstack(pdf["embedding"].to_numpy()).astype(np.float32)
            if len(pdf)
            else np.zeros((0, 0), np.float32)
        )
        return SnapshotVectors(
            ids=pdf["content_id"].tolist(),
            input_hashes=pdf["input_hash"].tolist(),
            model_versions=pdf["model_version"].tolist(),
            items=pa.Table.from_pandas(pdf[list(ITEM_COLUMNS)], preserve_index=False),
            matrix=matrix,
        )
    positioned_df = with_positions(items_df).cache()
    meta_pdf = positioned_df.drop("embedding").orderBy("position").toPandas()
    sample_size = min(total, max(settings.max_train_points, settings.choice_queries * 4))
    sample_pdf = (
        positioned_df.select("position", "embedding")
        .sample(fraction=min(1.0, 1.2 * sample_size / total), seed=seed)
        .limit(sample_size)
        .orderBy("position")
        .toPandas()
    )
    return SnapshotVectors(
        ids=meta_pdf["content_id"].tolist(),
        input_hashes=meta_pdf["input_hash"].tolist(),
        model_versions=meta_pdf["model_version"].tolist(),
        items=pa.Table.from_pandas(meta_pdf[list(ITEM_COLUMNS)], preserve_index=False),
        matrix=np.vstack(sample_pdf["embedding"].to_numpy()).astype(np.float32),
        sample_positions=sample_pdf["position"].to_numpy(dtype=np.int64),
        bad_vectors=count_bad_vectors(positioned_df),
        positioned_df=positioned_df,
    )


def with_positions(items_df: DataFrame) -> DataFrame:
    """Each row with ``position`` 0..n-1 in content_id order: its row in the index.

    zipWithIndex numbers a sorted RDD without pulling it into one partition (a window
    over the whole table would).
    """
    ordered_df = items_df.orderBy("content_id")
    schema = ordered_df.schema.add("position", "long")
    numbered = ordered_df.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1]))
    return items_df.sparkSession.createDataFrame(numbered, schema)


def count_bad_vectors(vectors_df: DataFrame) -> GateResult:
    """The ``finite_nonzero_vectors`` gate, counted by Spark over every row."""
    not_finite = F.exists("embedding", lambda x: F.isnan(x) | (F.abs(x) == float("inf")))
    squared_norm = F.aggregate("embedding", F.lit(0.0), lambda acc, x: acc + x * x)
    counts = vectors_df.agg(
        F.count("*").alias("rows"),
        F.sum(not_finite.cast("long")).alias("not_finite"),
        F.sum((~not_finite & (squared_norm < ZERO_NORM**2)).cast("long")).alias("zero"),
    ).first()
    problems = []
    if counts["not_finite"]:
        problems.append(f"{counts['not_finite']} vectors with NaN or infinite values")
    if counts["zero"]:
        problems.append(f"{counts['zero']} zero vectors")
    return GateResult(
        "finite_nonzero_vectors_all_rows",
        not problems,
        "; ".join(problems) or f"{counts['rows']} vectors, all finite and non-zero",
    )


def exact_neighbours_in_spark(
    vectors_df: DataFrame, queries: np.ndarray, query_positions: np.ndarray, k: int, metric: str
) -> np.ndarray:
    """Index rows of each query's exact top-``k`` over every row of ``vectors_df``
    (brute force per partition, merged on the driver), the query's own row excluded."""
    spark = vectors_df.sparkSession
    shared = spark.sparkContext.broadcast(np.ascontiguousarray(queries, dtype=np.float32))

    def top_k(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if batch.empty:
                continue
            block = np.ascontiguousarray(np.vstack(batch["embedding"].to_numpy()), np.float32)
            flat = faiss.IndexFlat(block.shape[1], index_choice.METRICS[metric])
            flat.add(block)
            scores, rows = flat.search(shared.value, min(k + 1, len(block)))
            positions = batch["position"].to_numpy(np.int64)[rows]
            query = np.repeat(np.arange(len(shared.value)), rows.shape[1])
            yield pd.DataFrame(
                {"query": query, "position": positions.ravel(), "score": scores.ravel()}
            )

    found = (
        vectors_df.select("position", "embedding")
        .mapInPandas(top_k, "query long, position long, score float")
        .toPandas()
    )
    found = found[found["position"].to_numpy() != query_positions[found["query"].to_numpy()]]
    ascending = metric == "l2"
    found = found.sort_values(["query", "score", "position"], ascending=[True, ascending, True])
    truth = np.full((len(queries), k), -1, dtype=np.int64)
    for query, group in found.groupby("query"):
        best = group["position"].to_numpy()[:k]
        truth[query, : len(best)] = best
    return truth


def _sharded_builder(
    vectors: SnapshotVectors, settings: IndexSettings, log: Callable[[str], None]
) -> Builder:
    positioned_df = vectors.positioned_df
    sample, sample_positions = vectors.matrix, vectors.sample_positions
    assert positioned_df is not None and sample_positions is not None

    def build(_: np.ndarray) -> tuple[faiss.Index, dict[str, Any]]:
        candidates = index_choice.candidates_from_config(settings.candidates)
        if settings.chosen_by_measurement:
            choice = index_choice.choose_index(
                sample,
                settings.metric,
                candidates,
                target_recall_at_10=settings.target_recall_at_10,
                max_bytes=None,  # judged on the full index below; the sample is smaller
                max_p99_ms=settings.max_p99_ms,
                query_count=settings.choice_queries,
                latency_query_count=settings.latency_queries,
                max_train_points=settings.max_train_points,
            )
            for figure in choice.figures:
                log(("* " if figure.name == choice.name else "  ") + figure.summary())
            chosen = next(c for c in candidates if c.name == choice.name)
            template, entries = chosen.factory, choice.manifest()
        else:
            chosen = index_choice.Candidate("configured", settings.factory)
            template, entries = settings.factory, {"factory": settings.factory}
        trained = index_choice.train_on_sample(
            positioned_df, template, settings.metric, sample_rows=settings.max_train_points
        )
        index = index_choice.add_in_partitions(positioned_df, trained)
        factory = index_choice.resolve_factory(
            template,
            index_choice.index_shape(index.ntotal, index.d, settings.max_train_points),
        )
        params, recall = _tune_full_index(
            index, chosen, positioned_df, sample, sample_positions, settings
        )
        limit = index_choice.parse_bytes(settings.max_bytes)
        size = int(faiss.serialize_index(index).size)
        if limit is not None and size > limit:
            raise index_choice.NoIndexMeetsTargets([], f"bytes <= {limit} ({factory}: {size})")
        if recall < settings.target_recall_at_10:
            raise index_choice.NoIndexMeetsTargets(
                [],
                f"recall@10 >= {settings.target_recall_at_10} ({factory} {params}: {recall:.4f})",
            )
        log(f"sharded build: {factory} {params}: recall@10 {recall:.4f}, {size} bytes")
        entries.update(
            factory=factory,
            search_params=params,
            build={"sharded": True, "recall_at_10": recall, "bytes": size, "sample": len(sample)},
        )
        return index, entries

    return build


def _tune_full_index(
    index: faiss.Index,
    candidate: index_choice.Candidate,
    positioned_df: DataFrame,
    sample: np.ndarray,
    sample_positions: np.ndarray,
    settings: IndexSettings,
) -> tuple[str, float]:
    """The smallest search value meeting the recall target on the full index (queries
    from the sample, truth from Spark); the value and the recall it measured."""
    count = min(len(sample), settings.choice_queries)
    rows = np.random.default_rng(0).choice(len(sample), size=count, replace=False)
    queries, query_positions = sample[rows], sample_positions[rows]
    truth = exact_neighbours_in_spark(
        positioned_df, queries, query_positions, index_choice.RECALL_K, settings.metric
    )
    values: tuple[int | None, ...] = candidate.search_values or (None,)
    recall = 0.0
    for value in values:
        params = f"{candidate.search_param}={value}" if value is not None else ""
        index_choice.apply_search_params(
            index, ",".join(p for p in (candidate.params, params) if p)
        )
        found = index_choice.search_ids(index, queries, index_choice.RECALL_K, query_positions)
        recall = index_choice.recall_at_k(found, truth)
        if recall >= settings.target_recall_at_10:
            break
    return params, recall
