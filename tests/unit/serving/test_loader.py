"""Loading snapshots for serving: mapped indexes, search parameters, refusals, the watcher."""

from __future__ import annotations

import json
import os
from datetime import date

import faiss
import numpy as np
import pyarrow as pa
import pytest

from contentlake.index_snapshot import (
    CURRENT_POINTER,
    MANIFEST_FILE,
    REFUSED_FILE,
    SnapshotError,
    publish_snapshot,
)
from contentlake.serving.loader import load_served_snapshot
from contentlake.serving.metadata import ItemFilter
from contentlake.serving.retrieval import similar_items
from contentlake.serving.watcher import SnapshotWatcher

# Not a text model: the loader must not try to load one (and keyword search still works).
MODEL = {"model": {"name": "synthetic", "version": "v1", "modality": "synthetic"}}


def unit_vectors(n, dim=8, seed=0):
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def publish(root, run_date, n=64, factory="Flat", seed=0, items=True):
    ids = [f"i{position}" for position in range(n)]
    table = pa.table(
        {
            "content_id": ids,
            "title": [f"title {position}" for position in range(n)],
            "description": ["" for _ in range(n)],
            "content_type": ["movie" if position % 2 else "clip" for position in range(n)],
            "language": ["en" if position % 3 else None for position in range(n)],
            "genres": [["drama"] if position % 4 == 0 else [] for position in range(n)],
        }
    )
    return publish_snapshot(
        root,
        run_date,
        ids,
        unit_vectors(n, seed=seed),
        f"{factory}-{seed}-{n}".ljust(16, "0"),
        factory,
        "inner_product",
        MODEL,
        items=table if items else None,
    )


@pytest.mark.parametrize("factory", ["Flat", "HNSW8", "IVF4,Flat"])
def test_indexes_are_memory_mapped_and_answer_like_the_pipelines_loader(tmp_path, factory):
    path = publish(tmp_path, date(2026, 11, 1), factory=factory)
    served = load_served_snapshot(tmp_path, path.name)
    assert served.memory_mapped
    assert served.positions["i5"] == 5 and served.ids[5] == "i5"
    assert served.encoder is None and "synthetic" in served.dense_note
    positions, _ = similar_items(served, "i5", 3)
    reference = faiss.read_index(str(path / "index.faiss"))
    _, expected = reference.search(unit_vectors(64)[5:6], 4)
    assert positions.tolist() == [p for p in expected[0] if p != 5][:3]


def test_search_params_come_from_the_manifest_unless_overridden(tmp_path):
    path = publish(tmp_path, date(2026, 11, 1), factory="IVF4,Flat")
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["index"]["search_params"] = "nprobe=3"
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))

    served = load_served_snapshot(tmp_path, path.name)
    assert served.search_params == "nprobe=3"
    assert faiss.extract_index_ivf(served.index).nprobe == 3
    served = load_served_snapshot(tmp_path, path.name, search_params="nprobe=4")
    assert faiss.extract_index_ivf(served.index).nprobe == 4


def test_filters_select_positions_by_metadata(tmp_path):
    served = load_served_snapshot(tmp_path, publish(tmp_path, date(2026, 11, 1), n=12).name)
    mask = served.allowed(ItemFilter(content_type="movie", language="en"))
    assert np.flatnonzero(mask).tolist() == [1, 5, 7, 11]
    assert np.flatnonzero(served.allowed(ItemFilter(genre="drama"))).tolist() == [0, 4, 8]
    assert served.allowed(ItemFilter()) is None


def test_refused_and_tampered_snapshots_are_not_loaded(tmp_path):
    path = publish(tmp_path, date(2026, 11, 1))
    (path / "id_map.parquet").write_bytes(b"not parquet")
    with pytest.raises(SnapshotError, match="checksum"):
        load_served_snapshot(tmp_path, path.name)
    (path / REFUSED_FILE).write_text("self-recall too low")
    with pytest.raises(SnapshotError, match="refused"):
        load_served_snapshot(tmp_path, path.name)
    with pytest.raises(SnapshotError, match="outside"):
        load_served_snapshot(tmp_path, "../elsewhere")


def test_watcher_swaps_on_a_new_current_and_keeps_serving_through_a_bad_one(tmp_path):
    watcher = SnapshotWatcher(tmp_path)
    assert watcher.refresh() is False and watcher.current is None  # nothing published

    first = publish(tmp_path, date(2026, 11, 1))
    assert watcher.refresh() is True and watcher.current.name == first.name
    held = watcher.current  # a request in flight keeps its snapshot
    assert watcher.refresh() is False  # CURRENT untouched: not even read again

    second = publish(tmp_path, date(2026, 11, 2), seed=1)
    assert watcher.refresh() is True and watcher.current.name == second.name
    assert held.name == first.name and similar_items(held, "i1", 2)[0].size == 2

    (first / REFUSED_FILE).write_text("withdrawn")
    (tmp_path / ".pointer").write_text(first.name)
    os.replace(tmp_path / ".pointer", tmp_path / CURRENT_POINTER)
    assert watcher.refresh() is False
    assert watcher.current.name == second.name and "withdrawn" in watcher.last_error


def test_a_refused_snapshot_serves_only_by_forced_promotion(tmp_path):
    from contentlake.snapshots import promote

    first = publish(tmp_path, date(2026, 11, 1))
    second = publish(tmp_path, date(2026, 11, 2), seed=1)
    watcher = SnapshotWatcher(tmp_path)
    (second / REFUSED_FILE).write_text("recall fell")
    promote(tmp_path, first.name)
    assert watcher.refresh() and watcher.current.name == first.name

    promote(tmp_path, second.name, force=True)
    assert watcher.refresh() and watcher.current.name == second.name
    assert watcher.current.refused == "recall fell"
