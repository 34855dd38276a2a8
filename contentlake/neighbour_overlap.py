"""How much two index snapshots agree on each item's nearest neighbours. No Spark.

For a fixed sample of the items both snapshots hold, each snapshot is asked for the item's
``k`` nearest items (the item itself left out, its own stored vector as the query, as
``Snapshot.similar_to`` and the offline evaluation do), and the overlap is the share of
the two lists they have in common, averaged over the sample. 1.0: the served "more like
this" answers did not move; a model change or a broken index shows as a drop.

The sample is the items with the smallest hash of their id, so the same items are asked
day after day and the figure does not wander with the draw; its size bounds the cost to
two batched searches of ``sample`` queries on the driver, whatever the catalogue's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # retrieval_eval imports faiss and pyspark; overlap_of needs neither
    from contentlake.retrieval_eval import Searchable


@dataclass(frozen=True)
class NeighbourOverlap:
    overlap: float | None  # None: no item in both snapshots
    queries: int


def sample_items(ids: Iterable[str], size: int) -> list[str]:
    """Up to ``size`` of ``ids``: those with the smallest blake2b hash, a choice that does
    not depend on the order or on the other ids (an item stays sampled while it exists)."""
    return sorted(
        set(ids), key=lambda item: hashlib.blake2b(item.encode(), digest_size=8).digest()
    )[:size]


def neighbour_overlap(
    previous: Searchable, current: Searchable, k: int, sample: int
) -> NeighbourOverlap:
    """Mean overlap@k of the neighbour lists of a sample of the items both snapshots hold.

    Each item's overlap is ``|previous list & current list| / max(list lengths)``: ``k``
    in any catalogue of more than ``k`` items, and still 1.0 for identical lists in a
    smaller one.
    """
    from contentlake.retrieval_eval import rankings

    queries = sample_items(set(previous.ids) & set(current.ids), sample)
    return overlap_of(rankings(previous, queries, k), rankings(current, queries, k))


def overlap_of(before: dict[str, list[str]], after: dict[str, list[str]]) -> NeighbourOverlap:
    """The mean overlap of two sets of neighbour lists of the same queries (``rankings``)."""
    overlaps = []
    for query, found_before in before.items():
        longest = max(len(found_before), len(after[query]))
        if longest:
            overlaps.append(len(set(found_before) & set(after[query])) / longest)
    return NeighbourOverlap(
        overlap=sum(overlaps) / len(overlaps) if overlaps else None, queries=len(overlaps)
    )
