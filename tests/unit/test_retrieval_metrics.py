"""The ranking metrics equal ir-measures (pytrec_eval underneath) on random runs, and a
hand-computed example. No Spark."""

from __future__ import annotations

import math
import random

import ir_measures
import pytest
from ir_measures import AP, RR, R, nDCG

from contentlake.retrieval_metrics import (
    average_precision_at_k,
    evaluate_run,
    metric_keys,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
)

MEASURES = {"ndcg": nDCG, "mrr": RR, "recall": R, "map": AP}


def random_judgements(rng: random.Random) -> tuple[dict, dict]:
    """Graded qrels (some queries with no relevant item, a few negative grades) and runs
    of 0 to 25 results (longer than the cutoffs; an empty one is absent from the run)."""
    docs = [f"d{i}" for i in range(40)]
    qrels, run = {}, {}
    for q in range(30):
        query = f"q{q}"
        judged = rng.sample(docs, rng.randint(1, 12))
        qrels[query] = {doc: rng.choice((-1, 0, 0, 1, 1, 2, 3)) for doc in judged}
        ranking = rng.sample(docs, rng.randint(0, 25))
        if ranking:
            run[query] = ranking
    run["unjudged"] = docs[:10]  # a query without judgments is ignored
    return qrels, run


def ir_measures_means(qrels: dict, run: dict, k: int, queries: set[str]) -> dict[str, float]:
    """ir-measures per query, averaged over ``queries``; a query it does not report is 0."""
    qrels_list = [
        ir_measures.Qrel(query, doc, grade)
        for query, judged in qrels.items()
        for doc, grade in judged.items()
    ]
    # Strictly decreasing scores: the ranking's order, with no tie for trec_eval to break.
    run_list = [
        ir_measures.ScoredDoc(query, doc, float(len(ranking) - position))
        for query, ranking in run.items()
        for position, doc in enumerate(ranking)
    ]
    means = {}
    for name, measure in MEASURES.items():
        per_query = {
            m.query_id: m.value for m in ir_measures.iter_calc([measure @ k], qrels_list, run_list)
        }
        means[f"{name}@{k}"] = sum(per_query.get(q, 0.0) for q in queries) / len(queries)
    return means


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 5, 10, 20])
def test_metrics_equal_ir_measures_on_random_runs(seed: int, k: int) -> None:
    qrels, run = random_judgements(random.Random(seed))
    with_relevant = {q for q, judged in qrels.items() if max(judged.values()) >= 1}
    assert 0 < len(with_relevant) < len(qrels)  # the exclusion rule is exercised

    ours = evaluate_run(run, qrels, k)

    assert ours["queries"] == len(with_relevant)
    expected = ir_measures_means(qrels, run, k, with_relevant)
    for key in metric_keys(k):
        assert ours[key] == pytest.approx(expected[key], abs=1e-9, rel=0), key


def test_a_hand_computed_query() -> None:
    # 'x' is relevant but never retrieved (say, missing from the snapshot): it still counts
    # in the ideal ranking and in the number of relevant items.
    judgments = {"a": 3, "b": 0, "c": 1, "x": 2}
    ranking = ["b", "c", "z", "a"]

    dcg = 1 / math.log2(3) + 3 / math.log2(5)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranking, judgments, 4) == pytest.approx(dcg / ideal, abs=1e-12)
    assert ndcg_at_k(ranking, judgments, 2) == pytest.approx(
        (1 / math.log2(3)) / (3 + 2 / math.log2(3)), abs=1e-12
    )
    assert reciprocal_rank_at_k(ranking, judgments, 4) == 0.5
    assert reciprocal_rank_at_k(ranking, judgments, 1) == 0.0  # cut at k, like RR@k
    assert recall_at_k(ranking, judgments, 4) == pytest.approx(2 / 3)
    assert average_precision_at_k(ranking, judgments, 4) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert average_precision_at_k(ranking, judgments, 3) == pytest.approx((1 / 2) / 3)


def test_means_skip_queries_without_relevant_items_and_zero_missing_runs() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}, "q3": {"c": 2}}
    run = {"q1": ["a"], "q2": ["b"]}  # q3 has no ranking: it scores 0

    assert evaluate_run(run, qrels, 10) == {
        "ndcg@10": 0.5,
        "mrr@10": 0.5,
        "recall@10": 0.5,
        "map@10": 0.5,
        "queries": 2,
    }


def test_no_judged_query_gives_no_means() -> None:
    assert evaluate_run({"q": ["a"]}, {"q": {"a": 0}}, 5) == {
        "ndcg@5": None,
        "mrr@5": None,
        "recall@5": None,
        "map@5": None,
        "queries": 0,
    }


def test_a_ranking_that_repeats_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="repeats"):
        evaluate_run({"q": ["a", "a"]}, {"q": {"a": 1}}, 5)
