import numpy as np

from contentlake.snapshot_gates import (
    GateResult,
    evaluation_not_worse,
    finite_nonzero_vectors,
    one_model_version,
    refusals,
    self_recall,
    vector_count,
)


def test_nan_infinite_and_zero_vectors_are_counted_apart():
    vectors = np.eye(5, dtype=np.float32)
    vectors[0, 1] = np.nan
    vectors[1, 0] = np.inf
    vectors[2] = 0.0
    vectors[3] = 1e-9  # as good as zero for a cosine

    result = finite_nonzero_vectors(vectors)

    assert result == GateResult(
        "finite_nonzero_vectors", False, "2 vectors with NaN or infinite values; 2 zero vectors"
    )
    assert finite_nonzero_vectors(np.eye(3, dtype=np.float32)).passed


def test_a_sudden_drop_of_the_vector_count_is_refused():
    assert vector_count(79, 100, max_drop=0.2).passed is False
    assert vector_count(80, 100, max_drop=0.2).passed is True
    assert vector_count(500, 100, max_drop=0.2).passed is True  # growth is never refused
    assert vector_count(3, None, max_drop=0.2).passed is True  # nothing served yet


def test_one_model_version_per_modality():
    assert one_model_version({"text": ["v1", "v1"], "image": ["e1"]}) == GateResult(
        "one_model_version", True, "image=e1, text=v1"
    )
    assert one_model_version({"text": ["v1", "v2"], "image": ["e1"]}) == GateResult(
        "one_model_version", False, "model versions mixed: text: v1, v2"
    )


def test_evaluation_is_compared_with_the_served_snapshot_within_the_tolerance():
    served = {"ndcg@10": 0.50, "queries": 40}

    def judged(value, queries=40):
        return evaluation_not_worse(
            {"ndcg@10": value, "queries": queries}, served, "ndcg@10", 0.02, 20
        ).passed

    assert judged(0.49) is True
    assert judged(0.47) is False
    assert judged(0.10, queries=5) is True  # too few queries to judge either way
    first = evaluation_not_worse({"ndcg@10": 0.1, "queries": 40}, None, "ndcg@10", 0.02, 20)
    assert first.passed and "nothing served" in first.detail


def test_refusals_name_each_failed_gate():
    results = [self_recall(0.5, 0.9), self_recall(1.0, 0.9), vector_count(1, 10, 0.2)]
    assert refusals(results) == [
        "self_recall: self-recall@1 0.500 (gate 0.9)",
        "vector_count: 1 vectors against 10 served (refused below 8)",
    ]
