"""The serving layer's ranking rules on hand-made inputs, with exact expected outputs."""

from __future__ import annotations

import numpy as np
import pytest

from contentlake.serving.search import (
    exact_top_k,
    filtered_top_k,
    mmr_order,
    reciprocal_rank_fusion,
    top_scored,
)


def test_rrf_sums_reciprocal_ranks_best_first():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]])

    assert [position for position, _ in fused] == [1, 3, 2]
    assert [score for _, score in fused] == pytest.approx(
        [1 / 61 + 1 / 62, 1 / 61 + 1 / 63, 1 / 62]
    )


def test_rrf_breaks_exact_ties_in_favour_of_the_earlier_list():
    assert [p for p, _ in reciprocal_rank_fusion([[1, 2], [2, 1]])] == [1, 2]
    assert [p for p, _ in reciprocal_rank_fusion([[2, 1], [1, 2]])] == [2, 1]
    # Same rank sets summed in another order are still the same float.
    fused = dict(reciprocal_rank_fusion([[1, 2, 3], [3, 1, 2], [2, 3, 1]]))
    assert fused[1] == fused[2] == fused[3]


def test_rrf_counts_a_repeated_position_once_and_takes_k():
    assert reciprocal_rank_fusion([[5, 5, 6]], k=0) == [(5, 1.0), (6, 1 / 3)]
    assert reciprocal_rank_fusion([[], [4]]) == [(4, 1 / 61)]
    assert reciprocal_rank_fusion([]) == []


# a and b point 37 degrees apart (cosine 0.8), c is orthogonal to a.
A, B, C = [1.0, 0.0], [0.8, 0.6], [0.0, 1.0]
RELEVANCE = [0.9, 0.8, 0.3]


@pytest.mark.parametrize(
    ("lambda_", "expected"),
    [
        (1.0, [0, 1, 2]),  # relevance only
        (0.8, [0, 1, 2]),  # b: 0.64 - 0.2 * 0.8 = 0.48 beats c: 0.24
        (0.5, [0, 2, 1]),  # b: 0.40 - 0.5 * 0.8 = 0.00 loses to c: 0.15
        (0.0, [0, 2, 1]),  # after the first pick, the least similar
    ],
)
def test_mmr_trades_relevance_for_distance_to_what_is_picked(lambda_, expected):
    assert mmr_order(np.array(RELEVANCE), np.array([A, B, C]), 3, lambda_) == expected


def test_mmr_uses_cosine_whatever_the_vector_lengths():
    vectors = np.array([[10.0, 0.0], [8.0, 6.0], [0.0, 0.5]])
    assert mmr_order(np.array(RELEVANCE), vectors, 2, 0.5) == [0, 2]


def test_mmr_stops_at_k_or_the_candidates_and_ties_go_to_the_lower_index():
    assert mmr_order(np.array(RELEVANCE), np.array([A, B, C]), 10, 0.5) == [0, 2, 1]
    assert mmr_order(np.array(RELEVANCE), np.array([A, B, C]), 0, 0.5) == []
    assert mmr_order(np.array([0.5, 0.5]), np.array([A, A]), 2, 0.7) == [0, 1]


# A fake index over 10 positions: its ranking for the one query, best first.
RANKING = [7, 3, 9, 1, 4, 0, 2, 8, 6, 5]
SCORES = np.linspace(1.0, 0.1, 10, dtype=np.float32)


def fake_search(ranking=RANKING):
    """``search(n)`` over ``ranking``, padded with -1 past its end; records each n."""
    calls = []

    def search(n):
        calls.append(n)
        positions = np.full(n, -1, dtype=np.int64)
        scores = np.full(n, -np.inf, dtype=np.float32)
        found = min(n, len(ranking))
        positions[:found], scores[:found] = ranking[:found], SCORES[:found]
        return scores, positions

    return search, calls


def mask(*positions, size=10):
    allowed = np.zeros(size, dtype=bool)
    allowed[list(positions)] = True
    return allowed


def test_unfiltered_search_asks_for_k_once():
    search, calls = fake_search()
    positions, scores = filtered_top_k(search, 3, ntotal=10)
    assert positions.tolist() == [7, 3, 9] and calls == [3]
    assert scores.tolist() == SCORES[:3].tolist()


def test_the_query_item_itself_costs_one_more_hit():
    search, calls = fake_search()
    positions, scores = filtered_top_k(search, 3, ntotal=10, exclude=7)
    assert positions.tolist() == [3, 9, 1] and calls == [4]
    assert scores.tolist() == SCORES[1:4].tolist()


def test_a_filter_overfetches_and_widens_until_k_pass():
    search, calls = fake_search()
    positions, _ = filtered_top_k(search, 2, ntotal=10, allowed=mask(2, 5, 6, 8))
    assert positions.tolist() == [2, 8] and calls == [8]

    search, calls = fake_search()
    positions, scores = filtered_top_k(search, 2, ntotal=10, allowed=mask(5, 6))
    assert positions.tolist() == [6, 5] and calls == [8, 10]
    assert scores.tolist() == SCORES[8:].tolist()


def test_widening_stops_when_the_index_is_exhausted():
    search, calls = fake_search()
    positions, _ = filtered_top_k(search, 2, ntotal=10, allowed=mask(5))
    assert positions.tolist() == [5] and calls == [8, 10]
    # An index that answers short (-1 padding, e.g. IVF with few probes) has no more.
    search, calls = fake_search(RANKING[:5])
    positions, _ = filtered_top_k(search, 2, ntotal=10, allowed=mask(1, 5))
    assert positions.tolist() == [1] and calls == [8]
    search, calls = fake_search()
    positions, _ = filtered_top_k(search, 2, ntotal=10, allowed=mask())
    assert positions.tolist() == [] and calls == [8, 10]
    search, calls = fake_search([])
    positions, _ = filtered_top_k(search, 2, ntotal=0)
    assert positions.tolist() == [] and calls == []


def test_exact_top_k_ranks_a_subset_in_the_metric_of_the_index():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [1.0, 0.0]], dtype=np.float32)
    positions = np.array([40, 10, 30, 20])
    query = np.array([0.6, 0.8], dtype=np.float32)

    found, scores = exact_top_k(query, vectors, positions, 3, inner_product=True)
    assert found.tolist() == [30, 10, 40]  # 40 and 20 tie at 0.6: candidates' order
    assert scores.tolist() == pytest.approx([1.0, 0.8, 0.6])

    found, scores = exact_top_k(query, vectors, positions, 4, inner_product=False)
    assert found.tolist() == [30, 10, 40, 20]
    assert scores.tolist() == pytest.approx([0.0, 0.4, 0.8, 0.8])


def test_top_scored_keeps_positive_allowed_scores_best_first():
    scores = np.array([0.0, 2.0, 1.0, 2.0, 0.5], dtype=np.float32)
    assert top_scored(scores, 3).tolist() == [1, 3, 2]
    assert top_scored(scores, 10).tolist() == [1, 3, 2, 4]
    assert top_scored(scores, 3, allowed=mask(0, 2, 3, 4, size=5)).tolist() == [3, 2, 4]
