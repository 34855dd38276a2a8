"""Snapshot evaluation on a tiny in-memory index; no Spark."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from contentlake.index_choice import build_index
from contentlake.index_snapshot import Snapshot
from contentlake.retrieval_eval import (
    evaluate_snapshot,
    evaluate_snapshots,
    manifest_entry,
    qrels_fingerprint,
    rankings,
)
from contentlake.snapshot_gates import evaluation_not_worse
from contentlake.transforms.relevance import held_out_window

# Unit vectors at these angles (degrees): inner products rank neighbours by angle.
ANGLES = {"c1": 0, "c2": 10, "c3": 20, "c4": 90, "c5": 200}
QRELS = {
    "c1": {"c3": 2, "cx": 1},  # cx is relevant but in no snapshot
    "c2": {"c1": 0},  # nothing relevant: not a query
    "c4": {"c5": 3},
    "cz": {"c1": 3},  # not in the snapshot: cannot be asked
}


def snapshot_of(angles: dict[str, int]) -> Snapshot:
    ids = sorted(angles)
    radians = np.radians([angles[i] for i in ids])
    vectors = np.stack([np.cos(radians), np.sin(radians)], axis=1).astype(np.float32)
    index = build_index(vectors, "Flat", "inner_product")
    return Snapshot(path=Path("in-memory"), manifest={}, index=index, ids=ids)


def test_rankings_leave_out_the_query_and_items_the_snapshot_lacks() -> None:
    assert rankings(snapshot_of(ANGLES), ["c1", "c4", "cz"], 2) == {
        "c1": ["c2", "c3"],
        "c4": ["c3", "c2"],
    }


def test_a_snapshot_is_scored_on_the_queries_it_holds() -> None:
    metrics = evaluate_snapshot(snapshot_of(ANGLES), QRELS, k=2)

    # c1 finds c3 at rank 2 of its two relevant items; c4 finds nothing.
    ndcg_c1 = (2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert metrics == {
        "ndcg@2": pytest.approx(ndcg_c1 / 2, abs=1e-12),
        "mrr@2": 0.25,
        "recall@2": 0.25,
        "map@2": 0.125,
        "queries": 2,
        "k": 2,
        "judgments": 4,
        "qrels_sha256": qrels_fingerprint({q: QRELS[q] for q in ("c1", "c2", "c4")}),
    }


def test_snapshots_compare_on_the_queries_all_of_them_hold() -> None:
    current = snapshot_of(ANGLES)
    without_c4 = {i: a for i, a in ANGLES.items() if i != "c4"}
    candidate = snapshot_of({**without_c4, "c3": 190})  # c3 moved away from c1

    results = evaluate_snapshots({"candidate": candidate, "current": current}, QRELS, k=2)

    assert results["candidate"]["queries"] == results["current"]["queries"] == 1
    assert results["candidate"]["qrels_sha256"] == results["current"]["qrels_sha256"]
    assert results["current"]["recall@2"] == 0.5
    assert results["candidate"]["recall@2"] == 0.0
    # what the publish gate compares
    gate = evaluation_not_worse(results["candidate"], results["current"], "recall@2", 0.1, 1)
    assert not gate.passed


def test_an_evaluation_is_deterministic_and_goes_into_the_manifest_as_json() -> None:
    first = evaluate_snapshot(snapshot_of(ANGLES), QRELS, k=2)
    again = evaluate_snapshot(snapshot_of(dict(reversed(ANGLES.items()))), dict(QRELS), k=2)
    assert first == again
    entry = manifest_entry(first, held_out_window(date(2026, 11, 28), 7))
    assert json.loads(json.dumps(entry))["window"] == {"start": "2026-11-22", "end": "2026-11-28"}


def test_an_ivf_index_is_asked_through_its_stored_vectors() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 8)).astype(np.float32)
    ids = [f"c{i:03d}" for i in range(200)]
    index = build_index(vectors, "IVF4,Flat", "l2")
    index.nprobe = 4  # every list: exact, so the brute-force answer is known
    snapshot = Snapshot(path=Path("ivf"), manifest={}, index=index, ids=ids)

    found = rankings(snapshot, ["c000", "c199"], 3)

    for query, ranking in found.items():
        distances = ((vectors - vectors[ids.index(query)]) ** 2).sum(axis=1)
        assert ranking == [ids[i] for i in np.argsort(distances)[1:4]]
