"""Neighbour-list overlap between two snapshots, on points of a line whose neighbours can be
read off by hand. No Spark."""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from contentlake.neighbour_overlap import NeighbourOverlap, neighbour_overlap, sample_items


@dataclass
class LineSnapshot:
    """Items at points of a line, in an exact L2 index (what a snapshot offers a search)."""

    ids: list[str]
    index: faiss.Index


def line(points: dict[str, float]) -> LineSnapshot:
    index = faiss.IndexFlatL2(1)
    index.add(np.array([[x] for x in points.values()], dtype=np.float32))
    return LineSnapshot(ids=list(points), index=index)


# 2 nearest others of each: a {b, c}, b {a, c}, c {b, a}, d {e, c}, e {d, c}
BEFORE = line({"a": 0.0, "b": 1.0, "c": 3.0, "d": 7.0, "e": 10.0})
# e moves between c and d, f is new: c {e, b} keeps one of two, every other list is kept
# (d {e, c}, e {c, d}); f is in one snapshot only and is never asked.
AFTER = line({"a": 0.0, "b": 1.0, "c": 3.0, "d": 7.0, "e": 4.5, "f": 20.0})


def test_overlap_is_the_mean_share_of_kept_neighbours() -> None:
    assert neighbour_overlap(BEFORE, AFTER, k=2, sample=100) == NeighbourOverlap(
        overlap=(1 + 1 + 0.5 + 1 + 1) / 5, queries=5
    )
    assert neighbour_overlap(BEFORE, BEFORE, k=2, sample=100) == NeighbourOverlap(1.0, 5)


def test_a_catalogue_smaller_than_k_compares_whole_lists() -> None:
    # Four others at most: identical lists of four still overlap fully at k = 10.
    assert neighbour_overlap(BEFORE, BEFORE, k=10, sample=100) == NeighbourOverlap(1.0, 5)


def test_the_sample_bounds_the_queries_and_does_not_depend_on_order() -> None:
    ids = [f"c{n:06d}" for n in range(1000)]
    chosen = sample_items(ids, 10)
    assert len(chosen) == 10
    assert sample_items(reversed(ids), 10) == chosen
    # An item stays sampled while it exists, whatever else goes: half the catalogue
    # removed, the sampled items of the half that is left are sampled still.
    left = set(ids[:500])
    assert {item for item in chosen if item in left} <= set(sample_items(left, 10))
    assert neighbour_overlap(BEFORE, AFTER, k=2, sample=2).queries == 2


def test_no_common_item_has_no_overlap() -> None:
    assert neighbour_overlap(line({"x": 0.0, "y": 1.0}), BEFORE, k=2, sample=10) == (
        NeighbourOverlap(None, 0)
    )
