"""Ranking metrics at a cutoff, as trec_eval and ir-measures define them. No Spark.

A *run* maps each query id to its ranked result ids, best first; a *qrels* maps each query
id to graded judgments ``{doc_id: grade}``. The conventions are trec_eval's (ir-measures
delegates these measures to pytrec_eval), so a value here equals ``ir_measures`` on the
same data to rounding (``tests/unit/test_retrieval_metrics.py`` holds them to 1e-9):

- A grade ``>= 1`` is relevant (trec_eval's default ``relevance_level``); unjudged
  results are not relevant.
- ``ndcg@k``: gain = the grade (a grade below 0 gains 0), discount ``log2(rank + 1)``; the
  ideal ranking sorts *every* judged item of the query by grade, so a relevant item the
  system cannot retrieve still lowers the score.
- ``mrr@k``: ``1 / rank`` of the first relevant result within the top ``k``, else 0
  (ir-measures' ``RR@k``).
- ``recall@k``: relevant results in the top ``k`` over all relevant items of the query.
- ``map@k``: the sum of precision at the rank of each relevant result within the top
  ``k``, over all relevant items of the query (trec_eval's ``map_cut``; not divided by
  ``min(k, R)``).

A ranking is an ordered list, so there are no score ties to break (trec_eval breaks them
by document id, descending). A query judged but absent from the run scores 0 on every
metric, as in ir-measures. A query without any relevant item is left out of the averages:
every metric is undefined (0 / 0) for it, and counting it as 0 or 1 would move the
mean with the share of such queries rather than with the ranking's quality.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

METRIC_NAMES = ("ndcg", "mrr", "recall", "map")
RELEVANT_GRADE = 1


def metric_keys(k: int) -> tuple[str, ...]:
    """The metric keys :func:`evaluate_run` returns for cutoff ``k``: ``ndcg@10`` etc."""
    return tuple(f"{name}@{k}" for name in METRIC_NAMES)


def ndcg_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain of the top ``k``, graded gains."""
    gains = sorted((max(grade, 0) for grade in judgments.values()), reverse=True)
    ideal = _dcg(gains[:k])
    if ideal == 0:
        return 0.0
    return _dcg([max(judgments.get(doc, 0), 0) for doc in ranking[:k]]) / ideal


def reciprocal_rank_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """``1 / rank`` of the first relevant result within the top ``k``; 0 if there is none."""
    for rank, doc in enumerate(ranking[:k], start=1):
        if judgments.get(doc, 0) >= RELEVANT_GRADE:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """Share of the query's relevant items found in the top ``k``."""
    relevant = _relevant_count(judgments)
    if relevant == 0:
        return 0.0
    return sum(judgments.get(doc, 0) >= RELEVANT_GRADE for doc in ranking[:k]) / relevant


def average_precision_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """Precision at each relevant result of the top ``k``, summed, over all relevant items."""
    relevant = _relevant_count(judgments)
    if relevant == 0:
        return 0.0
    found, total = 0, 0.0
    for rank, doc in enumerate(ranking[:k], start=1):
        if judgments.get(doc, 0) >= RELEVANT_GRADE:
            found += 1
            total += found / rank
    return total / relevant


def evaluate_run(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], k: int
) -> dict[str, float | int | None]:
    """Mean ``ndcg@k``, ``mrr@k``, ``recall@k`` and ``map@k`` over the judged queries.

    Returns those four keys and ``queries``, the number of queries averaged: those of
    ``qrels`` with at least one relevant item. With none, the four means are None.
    Queries of ``run`` without judgments are ignored. A ranking that repeats an id is
    refused: a metric would count that item twice.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    per_metric: dict[str, list[float]] = {name: [] for name in METRIC_NAMES}
    for query_id in sorted(qrels):
        judgments = qrels[query_id]
        if _relevant_count(judgments) == 0:
            continue
        ranking = list(run.get(query_id, ()))
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"the ranking of query {query_id!r} repeats an id")
        per_metric["ndcg"].append(ndcg_at_k(ranking, judgments, k))
        per_metric["mrr"].append(reciprocal_rank_at_k(ranking, judgments, k))
        per_metric["recall"].append(recall_at_k(ranking, judgments, k))
        per_metric["map"].append(average_precision_at_k(ranking, judgments, k))
    queries = len(per_metric["ndcg"])
    means: dict[str, float | int | None] = {
        f"{name}@{k}": math.fsum(values) / queries if queries else None
        for name, values in per_metric.items()
    }
    means["queries"] = queries
    return means


def _dcg(gains: Sequence[int]) -> float:
    return math.fsum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def _relevant_count(judgments: Mapping[str, int]) -> int:
    return sum(grade >= RELEVANT_GRADE for grade in judgments.values())
