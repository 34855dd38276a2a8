import dataclasses

import faiss
import numpy as np
import pytest

from contentlake.config import load_config
from contentlake.index_choice import (
    DEFAULT_CANDIDATES,
    Candidate,
    IndexShape,
    NoIndexMeetsTargets,
    add_in_partitions,
    apply_search_params,
    candidates_from_config,
    choose_index,
    configured_builder,
    exact_neighbours,
    index_recipe,
    index_shape,
    measure,
    parse_bytes,
    recall_at_k,
    resolve_factory,
    train_on_sample,
)

N, DIM = 2000, 32
FLAT = Candidate("flat", "Flat")
SQFP16 = Candidate("sqfp16", "SQfp16")
SQ8 = Candidate("sq8", "SQ8")
SQ4 = Candidate("sq4", "SQ4")


def clustered(n, dim=DIM, seed=0, clusters=40, queries=0):
    """Unit vectors around ``clusters`` centres (neighbours at cosine ~0.7), plus
    ``queries`` fresh draws from the same mixture."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    points = centres[rng.integers(0, clusters, n + queries)]
    points = points + rng.normal(size=points.shape) * 0.6
    points = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    return (points[:n], points[n:]) if queries else points


def brute_force_top10(vectors, queries):
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :10]


def independent_recall(index, vectors, queries):
    _, found = index.search(queries, 10)
    truth = brute_force_top10(vectors, queries)
    return np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])


@pytest.fixture(scope="module")
def data():
    return clustered(N, queries=300, seed=1)


def test_recall_at_k_counts_the_exact_neighbours_found_over_k():
    found = np.array([[0, 1, 2], [5, 6, -1]])
    truth = np.array([[0, 1, 3], [6, 8, 9]])

    assert recall_at_k(found, truth, k=3) == pytest.approx((2 + 1) / 6)
    # -1 is "no result": never a hit; a query with one exact neighbour is scored out of one.
    assert recall_at_k(np.array([[-1, -1]]), np.array([[4, -1]]), k=2) == 0.0
    assert recall_at_k(np.array([[4, 7]]), np.array([[4, -1]]), k=2) == 1.0


def test_exact_neighbours_of_an_item_leave_the_item_out():
    vectors = clustered(50, dim=8)
    items = np.array([3, 17])

    neighbours = exact_neighbours(vectors, vectors[items], 4, "inner_product", self_ids=items)

    expected = np.argsort(-(vectors[items] @ vectors.T), axis=1)[:, 1:5]
    assert neighbours.tolist() == expected.tolist()


def test_measure_times_single_thread_searches_and_counts_serialised_bytes(data):
    vectors, queries = data
    index = faiss.IndexFlatIP(DIM)
    index.add(vectors)
    faiss.omp_set_num_threads(2)

    figures = measure(index, queries, brute_force_top10(vectors, queries), latency_queries=50)

    assert figures.recall_at_10 == pytest.approx(1.0)
    assert figures.bytes == faiss.serialize_index(index).size
    assert figures.latency_queries == 50
    assert 0 < figures.p50_ms <= figures.p99_ms
    assert faiss.omp_get_max_threads() == 2


def test_index_shape_sizes_lists_from_the_vectors_and_training_points():
    assert index_shape(200_000, 384, 50_000) == IndexShape(nlist=1024, m=96, d=384)
    # 1,500 training points give 38 a list at most: 32 lists, not the 64 2 * sqrt(n) asks.
    assert index_shape(2000, 32, 1500) == IndexShape(nlist=32, m=8, d=32)
    assert index_shape(100, 7) == IndexShape(nlist=2, m=1, d=7)
    shape = IndexShape(nlist=32, m=8, d=32)
    assert resolve_factory("OPQ{m}_{d},IVF{nlist},PQ{m}np", shape) == "OPQ8_32,IVF32,PQ8np"
    with pytest.raises(ValueError, match="placeholder"):
        resolve_factory("IVF{lists},Flat", shape)


def test_candidates_come_from_config_entries_or_default():
    raw = [
        {"name": "ivf_pq", "factory": "IVF{nlist},PQ{m}", "search": {"nprobe": [1, 4, 16]}},
        {"name": "rerank", "factory": "RaBitQ,RFlat", "params": "k_factor_rf=4"},
    ]

    assert candidates_from_config(raw) == (
        Candidate("ivf_pq", "IVF{nlist},PQ{m}", "nprobe", (1, 4, 16)),
        Candidate("rerank", "RaBitQ,RFlat", params="k_factor_rf=4"),
    )
    assert candidates_from_config(None) == DEFAULT_CANDIDATES
    with pytest.raises(ValueError, match="one search parameter"):
        candidates_from_config([{"name": "x", "factory": "HNSW32", "search": {"a": [1], "b": [2]}}])
    with pytest.raises(ValueError, match="ascending"):
        candidates_from_config(
            [{"name": "x", "factory": "HNSW32", "search": {"efSearch": [64, 16]}}]
        )


def test_parse_bytes_reads_decimal_and_binary_units():
    assert parse_bytes("64MiB") == 64 * 2**20
    assert parse_bytes("1.5 GB") == 1_500_000_000
    assert parse_bytes(1234) == 1234
    assert parse_bytes(None) is None
    with pytest.raises(ValueError):
        parse_bytes("lots")


def test_chooser_picks_the_smallest_candidate_that_meets_the_target(data):
    vectors, queries = data

    choice = choose_index(vectors, "inner_product", [FLAT, SQ8, SQ4], 0.9, queries=queries)

    figures = {figure.name: figure for figure in choice.figures}
    assert choice.name == "sq8"
    assert independent_recall(choice.index, vectors, queries) >= 0.9
    assert figures["sq8"].bytes == faiss.serialize_index(choice.index).size
    # The only smaller candidate was built and fell short; Flat, bigger, was never built.
    assert figures["sq4"].bytes < figures["sq8"].bytes
    assert not figures["sq4"].met and figures["sq4"].recall_at_10 < 0.9
    assert figures["sq4"].reason.startswith("recall@10")
    assert figures["flat"].bytes is None and "more than sq8" in figures["flat"].reason
    assert [figure.name for figure in choice.figures] == ["flat", "sq8", "sq4"]


def test_a_byte_limit_flat_exceeds_picks_the_compressed_index_meeting_the_target(data):
    vectors, queries = data
    max_bytes = N * DIM * 3

    choice = choose_index(
        vectors, "inner_product", [FLAT, SQFP16, SQ8], 0.999, max_bytes, queries=queries
    )

    figures = {figure.name: figure for figure in choice.figures}
    assert choice.name == "sqfp16"
    assert figures["sqfp16"].bytes <= max_bytes
    assert independent_recall(choice.index, vectors, queries) >= 0.999
    assert figures["sq8"].reason.startswith("recall@10")
    assert figures["flat"].reason.endswith(f"over max_bytes {max_bytes}")


def test_impossible_limits_raise_with_every_candidates_reason(data):
    vectors, queries = data
    max_bytes = N * DIM * 2  # fp16 codes alone fill it; its header tips it over

    with pytest.raises(NoIndexMeetsTargets) as raised:
        choose_index(
            vectors, "inner_product", [FLAT, SQFP16, SQ8], 0.999, max_bytes, queries=queries
        )

    reasons = {figure.name: figure.reason for figure in raised.value.figures}
    assert reasons["flat"] == f"needs at least {N * DIM * 4} bytes, over max_bytes {max_bytes}"
    assert reasons["sqfp16"].startswith(f"{raised.value.figures[1].bytes} bytes > max_bytes")
    assert reasons["sq8"].startswith("recall@10 0.9")
    assert all(name in str(raised.value) for name in reasons)


def test_an_impossible_latency_stops_timing_once_the_p99_is_settled(data):
    vectors, queries = data

    with pytest.raises(NoIndexMeetsTargets) as raised:
        choose_index(vectors, "inner_product", [SQ8], 0.5, max_p99_ms=1e-9, queries=queries)

    (figure,) = raised.value.figures
    assert figure.reason.startswith("p99 ")
    # 200 queries to time: once 3 are over the limit, so is their p99.
    assert figure.latency_queries == 3


def test_nprobe_is_tuned_to_the_smallest_value_meeting_the_target():
    # More clusters than IVF lists: a query's neighbours spread over several lists.
    vectors, queries = clustered(N, queries=300, seed=1, clusters=200)
    values = (1, 2, 4, 8, 16, 32)
    target = 0.98
    ivf = Candidate("ivf_flat", "IVF{nlist},Flat", "nprobe", values)

    choice = choose_index(vectors, "inner_product", [ivf], target, queries=queries)

    recalls = {}
    for value in values:
        apply_search_params(choice.index, f"nprobe={value}")
        recalls[value] = independent_recall(choice.index, vectors, queries)
    expected = next(value for value in values if recalls[value] >= target)
    assert recalls[1] < target  # the tuning had something to do
    assert choice.search_params == f"nprobe={expected}"
    assert choice.chosen.recall_at_10 == pytest.approx(recalls[expected], abs=1e-3)


def test_candidates_that_cannot_be_built_are_skipped_with_a_reason():
    vectors = clustered(300)  # 225 training points: too few for 256 PQ centroids
    candidates = [
        Candidate("pq", "PQ{m}"),
        Candidate("bogus", "NoSuchIndex"),
        Candidate("flat_nprobe", "Flat", "nprobe", (1, 2)),
        FLAT,
    ]

    choice = choose_index(vectors, "inner_product", candidates, 0.9)

    reasons = {figure.name: figure.reason for figure in choice.figures}
    assert choice.name == "flat"
    assert reasons["pq"] == "cannot build: needs 9984 training points, has 225"
    assert reasons["bogus"].startswith("cannot build:")
    assert reasons["flat_nprobe"].endswith("could not set parameter nprobe")


def test_default_candidates_choose_a_snapshot_sized_index_that_meets_the_target():
    vectors, queries = clustered(400, queries=100, seed=2)

    choice = choose_index(vectors, "inner_product", target_recall_at_10=0.95, max_p99_ms=50)

    assert independent_recall(choice.index, vectors, queries) >= 0.9
    assert choice.chosen.met and choice.chosen.recall_at_10 >= 0.95
    assert {figure.name for figure in choice.figures} == {c.name for c in DEFAULT_CANDIDATES}
    smaller = [f for f in choice.figures if f.bytes is not None and f.bytes < choice.chosen.bytes]
    assert all(not figure.met for figure in smaller)


def test_partitioned_build_equals_the_driver_build(spark):
    vectors = clustered(600, dim=16, seed=3)
    rows = [(position, vectors[position].tolist()) for position in range(600)]
    np.random.default_rng(0).shuffle(rows)  # Spark sees them in no particular order
    vectors_df = spark.createDataFrame(rows, "position long, embedding array<float>")

    # IVF lists (ids stored), and flat codes inside a refined index (ids are rows).
    for factory in ("IVF{nlist},SQ8", "RaBitQ,RFlat"):
        trained = train_on_sample(vectors_df, factory, "inner_product", sample_rows=600)
        merged = add_in_partitions(vectors_df, trained, partitions=3)

        on_driver = faiss.deserialize_index(faiss.serialize_index(trained))
        on_driver.add(vectors)
        assert merged.ntotal == 600
        assert bytes(faiss.serialize_index(merged)) == bytes(faiss.serialize_index(on_driver))
        found, expected = merged.search(vectors[:20], 5)[1], on_driver.search(vectors[:20], 5)[1]
        assert found.tolist() == expected.tolist()


def test_hnsw_shards_are_refused_before_any_spark_work():
    with pytest.raises(ValueError, match="IndexHNSWFlat shards cannot be merged"):
        add_in_partitions(None, faiss.index_factory(16, "HNSW32"))


def index_settings(**changes):
    return dataclasses.replace(load_config(profile="local").index, **changes)


def test_the_recipe_changes_with_the_limits_and_names_a_fixed_factory():
    chosen = index_settings()

    assert index_recipe(index_settings(factory="HNSW32")) == "HNSW32"
    assert index_recipe(chosen) == index_recipe(index_settings())
    assert index_recipe(chosen) != index_recipe(index_settings(target_recall_at_10=0.99))
    assert index_recipe(chosen) != index_recipe(index_settings(max_bytes="64MiB"))
    assert index_recipe(chosen) != index_recipe(
        index_settings(candidates=({"name": "flat", "factory": "Flat"},))
    )


def test_the_configured_builder_publishes_the_choice_with_every_candidates_figures(data):
    vectors, _ = data
    settings = index_settings(
        candidates=({"name": "flat", "factory": "Flat"}, {"name": "sq8", "factory": "SQ8"}),
        choice_queries=200,
        latency_queries=20,
    )
    lines = []

    index, entries = configured_builder(settings, lines.append)(vectors)

    assert (entries["factory"], entries["choice"]["chosen"]) == ("SQ8", "sq8")
    assert [c["name"] for c in entries["choice"]["candidates"]] == ["flat", "sq8"]
    assert index.ntotal == N
    assert lines[1].startswith("* sq8 (SQ8): recall@10 ")


def test_a_fixed_factory_is_built_as_configured(data):
    vectors, _ = data

    index, entries = configured_builder(index_settings(factory="IVF16,Flat"), print)(vectors)

    assert entries == {"factory": "IVF16,Flat", "search_params": ""}
    assert faiss.extract_index_ivf(index).nlist == 16 and index.ntotal == N
