"""Offline evaluation of index snapshots on held-out viewing behaviour.

Three steps, I/O only at the ends:

1. :func:`qrels_from_events` reads ``events`` and ``content`` and collects the graded
   judgments of a held-out window (:mod:`contentlake.transforms.relevance`), bounded.
2. :func:`evaluate_snapshot` asks the snapshot for each query item's ``k`` nearest items
   (the query itself left out, as ``Snapshot.similar_to`` does) and scores the rankings
   with :mod:`contentlake.retrieval_metrics`. No Spark; a few thousand queries cost one
   batched FAISS search, so evaluating the candidate and the serving snapshot on the same
   judgments is cheap.
3. :func:`record_evaluation` replaces the snapshots' rows for the run date in
   ``retrieval_eval``.

A query item missing from a snapshot cannot be asked, so it is left out; a *relevant*
item missing from a snapshot stays relevant, so dropping items costs recall and nDCG.
Two snapshots compare only on the same judgments and queries: :func:`evaluate_snapshots`
evaluates each on the query items all of them hold, and the gate
(``contentlake.snapshot_gates.evaluation_not_worse``) compares the two results. The served
snapshot's manifest keeps its evaluation of an earlier window, which compares with nothing
judged today: the gate re-evaluates it, at the cost of one more batched search.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from typing import Any, Protocol

import faiss
import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.delta_commits import commit_with_retry
from contentlake.driver_rows import local_frame
from contentlake.index_choice import ensure_reconstructable
from contentlake.retrieval_metrics import METRIC_NAMES, evaluate_run
from contentlake.transforms.relevance import (
    HeldOutWindow,
    filter_sampled_queries,
    relevance_judgments,
)

Qrels = Mapping[str, Mapping[str, int]]

TABLE = "retrieval_eval"
SEARCH_BATCH = 1024
RETRIEVAL_EVAL_SCHEMA = (
    "snapshot string, run_date date, model_version string, k int, ndcg_at_k double, "
    "mrr_at_k double, recall_at_k double, map_at_k double, queries bigint, judgments bigint, "
    "qrels_sha256 string, window_start date, window_end date, evaluated_at timestamp"
)


class Searchable(Protocol):
    """What evaluation needs of a snapshot: its index and the id of each of its rows.

    A loaded :class:`contentlake.index_snapshot.Snapshot` is one; so is an index built in
    memory and not yet published, which lets a gate judge it before promotion.
    """

    ids: list[str]
    index: faiss.Index


def qrels_from_events(
    spark: SparkSession,
    window: HeldOutWindow,
    max_queries: int = 2000,
    max_items_per_user: int = 100,
    max_judgments_per_query: int = 50,
    min_users: int = 1,
) -> dict[str, dict[str, int]]:
    """``{query_id: {content_id: grade}}`` from the current database's ``events`` and
    ``content`` over ``window``: at most ``max_queries * max_judgments_per_query`` rows
    reach the driver."""
    judgments_df = relevance_judgments(
        spark.table("events"),
        spark.table("content"),
        window,
        max_items_per_user=max_items_per_user,
        max_judgments_per_query=max_judgments_per_query,
        min_users=min_users,
    ).transform(filter_sampled_queries, max_queries)
    qrels: dict[str, dict[str, int]] = {}
    for row in judgments_df.collect():
        qrels.setdefault(row.query_id, {})[row.content_id] = int(row.grade)
    return qrels


def qrels_fingerprint(qrels: Qrels) -> str:
    """sha256 of the judgments, independent of their order: equal fingerprints mean two
    evaluations were judged on the very same data."""
    digest = hashlib.sha256()
    for query_id in sorted(qrels):
        for content_id in sorted(qrels[query_id]):
            digest.update(f"{query_id}\t{content_id}\t{qrels[query_id][content_id]}\n".encode())
    return digest.hexdigest()


def rankings(snapshot: Searchable, query_ids: Iterable[str], k: int) -> dict[str, list[str]]:
    """The ``k`` nearest items of each query item held by ``snapshot``, itself excluded."""
    positions = {content_id: row for row, content_id in enumerate(snapshot.ids)}
    queries = [query_id for query_id in query_ids if query_id in positions]
    result: dict[str, list[str]] = {}
    for start in range(0, len(queries), SEARCH_BATCH):
        batch = queries[start : start + SEARCH_BATCH]
        vectors = _stored_vectors(snapshot.index, [positions[q] for q in batch])
        # One extra neighbour: the query finds itself first and is dropped.
        _, found = snapshot.index.search(vectors, k + 1)
        for query_id, row in zip(batch, found, strict=True):
            neighbours = [snapshot.ids[p] for p in row if p >= 0]
            result[query_id] = [c for c in neighbours if c != query_id][:k]
    return result


def _stored_vectors(index: faiss.Index, positions: list[int]) -> np.ndarray:
    """The vectors the index holds at ``positions`` (decoded, for a quantised index: the
    query is what serving would reconstruct too)."""
    ensure_reconstructable(index)
    vectors = index.reconstruct_batch(np.asarray(positions, dtype=np.int64))
    return np.ascontiguousarray(vectors, dtype=np.float32)


def evaluate_snapshot(
    snapshot: Searchable, qrels: Qrels, k: int = 10, queries: Iterable[str] | None = None
) -> dict[str, Any]:
    """The snapshot's mean ``ndcg@k``, ``mrr@k``, ``recall@k`` and ``map@k``.

    Evaluated on the query items of ``qrels`` (or of ``queries``) that the snapshot
    holds. Besides the four metrics the result carries ``k``, ``queries`` (how many were
    averaged), ``judgments`` (rows of those queries) and ``qrels_sha256``: everything the
    manifest and ``retrieval_eval`` keep. The metrics are None when no query qualified.
    """
    wanted = set(qrels) if queries is None else set(queries) & set(qrels)
    held = sorted(wanted & set(snapshot.ids))
    asked = {query_id: qrels[query_id] for query_id in held}
    metrics = evaluate_run(rankings(snapshot, held, k), asked, k)
    return {
        **metrics,
        "k": k,
        "judgments": sum(len(judged) for judged in asked.values()),
        "qrels_sha256": qrels_fingerprint(asked),
    }


def evaluate_snapshots(
    snapshots: Mapping[str, Searchable], qrels: Qrels, k: int = 10
) -> dict[str, dict[str, Any]]:
    """Each snapshot's evaluation on the same queries: those every snapshot holds.

    The gate's comparison: an item added to the candidate (or missing from it) must not
    change the question, only the answers.
    """
    shared = set(qrels)
    for snapshot in snapshots.values():
        shared &= set(snapshot.ids)
    return {
        name: evaluate_snapshot(snapshot, qrels, k, queries=shared)
        for name, snapshot in snapshots.items()
    }


def manifest_entry(metrics: Mapping[str, Any], window: HeldOutWindow) -> dict[str, Any]:
    """The ``evaluation`` entry of a snapshot's manifest."""
    return {
        **metrics,
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
    }


def record_evaluation(
    spark: SparkSession,
    cfg: Config,
    run_date: date,
    evaluations: Mapping[str, Mapping[str, Any]],
    window: HeldOutWindow,
    model_version: str | None = None,
    evaluated_at: datetime | None = None,
) -> None:
    """Replace the (snapshot, run date) rows of ``retrieval_eval`` in one commit.

    ``evaluations`` maps each snapshot evaluated in the run (the staged one and the one
    served, judged on the same queries) to what :func:`evaluate_snapshot` returned. A rerun
    of the date replaces those rows, so the table never holds two evaluations of one
    snapshot for one run date. A snapshot's ``model_version`` is its metrics' own where
    they name one (a model migration judges two), else ``model_version``.
    """
    evaluated_at = evaluated_at or datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for snapshot_name, metrics in evaluations.items():
        k = int(metrics["k"])
        rows.append(
            (
                snapshot_name,
                run_date,
                metrics.get("model_version", model_version),
                k,
                *(_optional_float(metrics[f"{name}@{k}"]) for name in METRIC_NAMES),
                int(metrics["queries"]),
                int(metrics["judgments"]),
                metrics["qrels_sha256"],
                window.start,
                window.end,
                evaluated_at,
            )
        )
    if not rows:
        return
    rows_df = local_frame(spark, rows, RETRIEVAL_EVAL_SCHEMA)
    owned = F.col("snapshot").isin(list(evaluations)) & (F.col("run_date") == F.lit(run_date))
    table = f"{cfg.database}.{TABLE}"
    commit_with_retry(lambda: rows_df.writeTo(table).overwrite(owned), TABLE, cfg.writes)


def _optional_float(value: float | int | None) -> float | None:
    """A metric as the table's double: a manifest read back from JSON may hold 0 or 1 as
    an int, which a double column refuses."""
    return None if value is None else float(value)
