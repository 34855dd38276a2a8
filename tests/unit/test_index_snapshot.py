import json
from datetime import date

import numpy as np
import pytest

from contentlake.index_choice import build_index
from contentlake.index_snapshot import (
    CURRENT_POINTER,
    INDEX_FILE,
    REFUSED_FILE,
    SnapshotError,
    SnapshotRefused,
    current_snapshot_name,
    load_snapshot,
    promotions,
    prune_snapshots,
    publish_snapshot,
    snapshot_fingerprint,
)
from contentlake.snapshot_gates import GateResult


def unit_vectors(n, dim=16, seed=0):
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def publish(root, run_date, ids, vectors, factory="Flat", version="", min_self_recall=0.0):
    """Publish with input hashes ``h<id><version>``: another version, another fingerprint."""
    hashes = [f"h{i}{version}" for i in ids]
    fingerprint = snapshot_fingerprint(ids, hashes, "v1", factory, "inner_product")
    return publish_snapshot(
        root,
        run_date,
        ids,
        vectors,
        fingerprint,
        factory,
        "inner_product",
        {"model": {"name": "m", "version": "v1"}},
        min_self_recall=min_self_recall,
    )


def test_snapshot_answers_nearest_neighbours_with_the_right_ids(tmp_path):
    ids = [f"c{i:03d}" for i in range(50)]
    vectors = unit_vectors(50)
    path = publish(tmp_path, date(2026, 11, 1), ids, vectors)
    snapshot = load_snapshot(tmp_path)

    assert snapshot.path == path
    query = vectors[7] + 0.01 * vectors[30]
    expected = [ids[i] for i in np.argsort(-(vectors @ query))[:5]]
    assert [cid for cid, _ in snapshot.search(query, 5)[0]] == expected
    assert snapshot.similar_to("c007", 3)[0][0] != "c007"
    assert [cid for cid, _ in snapshot.similar_to("c007", 3)] == [
        ids[i] for i in np.argsort(-(vectors @ vectors[7]))[1:4]
    ]


def test_manifest_records_what_the_index_was_built_from(tmp_path):
    ids = ["a", "b", "c"]
    path = publish(tmp_path, date(2026, 11, 1), ids, unit_vectors(3))
    manifest = json.loads((path / "manifest.json").read_text())

    assert manifest["vector_count"] == 3
    assert manifest["index"]["dim"] == 16
    assert manifest["index"]["factory"] == "Flat"
    assert manifest["index"]["self_recall_at_1"] == 1.0
    assert manifest["model"] == {"name": "m", "version": "v1"}
    assert set(manifest["files"]) == {"index.faiss", "id_map.parquet"}
    assert path.name == f"2026-11-01_{manifest['fingerprint'][:12]}"


def test_republishing_the_same_inputs_changes_nothing(tmp_path):
    ids = ["a", "b", "c"]
    first = publish(tmp_path, date(2026, 11, 1), ids, unit_vectors(3))
    before = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    second = publish(tmp_path, date(2026, 11, 1), ids, unit_vectors(3))

    assert second == first
    assert {p.name: p.stat().st_mtime_ns for p in second.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_backfilling_an_older_date_does_not_roll_current_back(tmp_path):
    newer = publish(tmp_path, date(2026, 11, 5), ["a", "b"], unit_vectors(2, seed=1), version=1)
    older = publish(tmp_path, date(2026, 11, 3), ["a", "b"], unit_vectors(2, seed=2), version=2)

    assert older.is_dir() and older != newer
    assert current_snapshot_name(tmp_path) == newer.name


def test_a_tampered_snapshot_is_refused(tmp_path):
    path = publish(tmp_path, date(2026, 11, 1), ["a", "b"], unit_vectors(2))
    with (path / INDEX_FILE).open("ab") as handle:
        handle.write(b"junk")
    with pytest.raises(SnapshotError, match="checksum"):
        load_snapshot(tmp_path)


def test_no_snapshot_yet_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="no snapshot has been published"):
        load_snapshot(tmp_path)


def test_prune_keeps_the_newest_and_current(tmp_path):
    paths = [
        publish(tmp_path, date(2026, 11, day), ["a", "b"], unit_vectors(2, seed=day), version=day)
        for day in (1, 2, 3, 4)
    ]
    removed = prune_snapshots(tmp_path, keep=2)
    assert removed == paths[:2]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [p.name for p in paths[2:]]
    assert (tmp_path / CURRENT_POINTER).read_text().strip() == paths[3].name


def test_approximate_index_factories_build(tmp_path):
    vectors = unit_vectors(400, dim=32)
    index = build_index(vectors, "HNSW16", "inner_product")
    _, found = index.search(vectors[:20], 1)
    assert (found[:, 0] == np.arange(20)).mean() >= 0.9
    with pytest.raises(ValueError, match="unknown metric"):
        build_index(vectors, "Flat", "cosine")


def test_a_snapshot_name_outside_the_snapshots_root_is_refused(tmp_path):
    root = tmp_path / "snapshots"
    publish(root, date(2026, 11, 1), ["c1", "c2"], unit_vectors(2))
    (tmp_path / "elsewhere").mkdir()
    for name in ("../elsewhere", str(tmp_path / "elsewhere")):
        with pytest.raises(SnapshotError, match="outside the snapshots root"):
            load_snapshot(root, name)


def snapshot_folders(root):
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def test_an_unchanged_index_is_not_republished_under_a_new_date(tmp_path):
    first = publish(tmp_path, date(2026, 11, 1), ["a", "b"], unit_vectors(2))
    before = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    second = publish(tmp_path, date(2026, 11, 2), ["a", "b"], unit_vectors(2))

    assert second == first
    assert snapshot_folders(tmp_path) == [first.name]
    assert current_snapshot_name(tmp_path) == first.name
    assert {p.name: p.stat().st_mtime_ns for p in first.iterdir()} == before


def test_inputs_back_to_an_older_snapshot_serve_it_again_without_a_rebuild(tmp_path):
    first = publish(tmp_path, date(2026, 11, 1), ["a", "b"], unit_vectors(2), version="v1")
    second = publish(tmp_path, date(2026, 11, 2), ["a", "b"], unit_vectors(2), version="v2")
    # e.g. the model rolled back: day 3's inputs are day 1's again
    third = publish(tmp_path, date(2026, 11, 3), ["a", "b"], unit_vectors(2), version="v1")

    assert third == first
    assert snapshot_folders(tmp_path) == [first.name, second.name]
    assert current_snapshot_name(tmp_path) == first.name


def test_a_backfill_matching_an_older_snapshot_keeps_current(tmp_path):
    first = publish(tmp_path, date(2026, 11, 1), ["a", "b"], unit_vectors(2), version="v1")
    newer = publish(tmp_path, date(2026, 11, 3), ["a", "b"], unit_vectors(2), version="v2")
    backfill = publish(tmp_path, date(2026, 11, 2), ["a", "b"], unit_vectors(2), version="v1")

    assert backfill == first
    assert snapshot_folders(tmp_path) == [first.name, newer.name]
    assert current_snapshot_name(tmp_path) == newer.name


def test_a_snapshot_failing_its_gate_is_kept_marked_and_never_becomes_current(tmp_path):
    served = publish(tmp_path, date(2026, 11, 1), ["a", "b"], unit_vectors(2))
    # Two identical vectors cannot both find themselves first: self-recall@1 is 0.5.
    twins = np.vstack([unit_vectors(1)] * 2)
    with pytest.raises(SnapshotRefused, match=r"self_recall: self-recall@1 0.500 \(gate 0.9\)"):
        publish(tmp_path, date(2026, 11, 2), ["c", "d"], twins, min_self_recall=0.9)

    refused = tmp_path / next(name for name in snapshot_folders(tmp_path) if name != served.name)
    assert (refused / REFUSED_FILE).is_file()
    assert current_snapshot_name(tmp_path) == served.name
    with pytest.raises(SnapshotRefused):  # a rerun on the same inputs is refused again
        publish(tmp_path, date(2026, 11, 3), ["c", "d"], twins, min_self_recall=0.9)
    assert current_snapshot_name(tmp_path) == served.name


def test_every_failed_gate_is_listed_and_recorded_in_the_manifest(tmp_path):
    served = publish(tmp_path, date(2026, 11, 1), ["a", "b", "c"], unit_vectors(3))
    broken = unit_vectors(3, seed=1)
    broken[0, 4] = np.nan
    broken[1] = 0.0

    def review(staged):
        assert staged.index.ntotal == 3  # the review sees the staged, unpromoted index
        return {"evaluation": {"ndcg@10": 0.1}}, [GateResult("evaluation", False, "worse")]

    with pytest.raises(SnapshotRefused) as refused:
        publish_snapshot(
            tmp_path,
            date(2026, 11, 2),
            ["a", "b", "c"],
            broken,
            "f" * 64,
            "Flat",
            "inner_product",
            {},
            review=review,
        )

    folder = tmp_path / f"2026-11-02_{'f' * 12}"
    assert (folder / REFUSED_FILE).read_text().splitlines() == [
        "finite_nonzero_vectors: 1 vectors with NaN or infinite values; 1 zero vectors",
        "evaluation: worse",
    ]
    assert "finite_nonzero_vectors" in str(refused.value)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["evaluation"] == {"ndcg@10": 0.1}
    assert [(g["gate"], g["passed"]) for g in manifest["gates"]] == [
        ("finite_nonzero_vectors", False),
        ("self_recall", True),
        ("evaluation", False),
    ]
    assert current_snapshot_name(tmp_path) == served.name


def test_every_move_of_current_is_logged_with_the_snapshot_it_replaced(tmp_path):
    first = publish(tmp_path, date(2026, 11, 1), ["a", "b"], unit_vectors(2))
    second = publish(tmp_path, date(2026, 11, 2), ["a", "b"], unit_vectors(2, seed=3), version="2")

    assert [(p["snapshot"], p["previous"]) for p in promotions(tmp_path)] == [
        (first.name, None),
        (second.name, first.name),
    ]
