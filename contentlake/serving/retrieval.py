"""The service's two questions, answered from one :class:`ServedSnapshot`.

- :func:`similar_items`: the nearest neighbours of an item's own vector;
- :func:`hybrid_search`: a text query, embedded with the snapshot's model and matched by
  BM25 over titles and descriptions, the two rankings fused by reciprocal rank.

Both apply metadata filters and, on request, MMR diversity. Results are index positions;
the HTTP layer turns them into content ids and fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contentlake.serving.loader import ServedSnapshot
from contentlake.serving.metadata import ItemFilter
from contentlake.serving.search import (
    exact_top_k,
    filtered_top_k,
    mmr_order,
    reciprocal_rank_fusion,
    unit_rows,
)

# A filter this selective is answered by brute force over the items that pass it: exact,
# and cheaper than widening an approximate search until enough of them turn up.
EXACT_SUBSET_LIMIT = 4096
# MMR chooses k results among this many times k of the most relevant ones.
MMR_POOL = 5
# Each ranking fused by RRF holds this many positions (or k, when k is larger).
FUSION_DEPTH = 100


class UnknownItem(LookupError):
    """The content id is not in the served snapshot."""


class SearchUnavailable(RuntimeError):
    """The snapshot has neither a usable text model nor items to match keywords on."""


def dense_candidates(
    snapshot: ServedSnapshot,
    query: np.ndarray,
    k: int,
    allowed: np.ndarray | None,
    exclude: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest positions to ``query`` that pass ``allowed``: ``(positions, scores)``."""
    if allowed is not None:
        subset = np.flatnonzero(allowed)
        if exclude is not None:
            subset = subset[subset != exclude]
        if len(subset) <= EXACT_SUBSET_LIMIT:
            vectors = snapshot.vectors(subset)
            return exact_top_k(query, vectors, subset, k, snapshot.inner_product)
    return filtered_top_k(
        lambda n: snapshot.search(query, n), k, snapshot.index.ntotal, allowed, exclude
    )


def similar_items(
    snapshot: ServedSnapshot,
    content_id: str,
    k: int,
    item_filter: ItemFilter | None = None,
    mmr: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items nearest to ``content_id`` (itself excluded): ``(positions, scores)``,
    scores in the index's metric. With ``mmr`` (lambda in [0, 1]) the order is MMR's."""
    position = snapshot.positions.get(content_id)
    if position is None:
        raise UnknownItem(f"content_id {content_id!r} is not in snapshot {snapshot.name}")
    query = snapshot.index.reconstruct(position)
    allowed = snapshot.allowed(item_filter)
    pool = k if mmr is None else k * MMR_POOL
    positions, scores = dense_candidates(snapshot, query, pool, allowed, exclude=position)
    if mmr is not None and len(positions):
        vectors = snapshot.vectors(positions)
        relevance = unit_rows(vectors) @ unit_rows(query)
        order = mmr_order(relevance, vectors, k, mmr)
        positions, scores = positions[order], scores[order]
    return positions[:k], scores[:k]


@dataclass(frozen=True)
class SearchHit:
    position: int
    score: float
    dense_rank: int | None
    keyword_rank: int | None


@dataclass(frozen=True)
class SearchAnswer:
    mode: str  # "hybrid", "keyword" or "dense": which rankings were fused
    note: str | None  # why a ranking is missing
    hits: list[SearchHit]


def hybrid_search(
    snapshot: ServedSnapshot,
    query: str,
    k: int,
    item_filter: ItemFilter | None = None,
    mmr: float | None = None,
) -> SearchAnswer:
    """The ``k`` best items for ``query`` by RRF of the dense and the BM25 ranking.

    Either ranking alone serves when the other is unavailable (no usable text model, no
    items metadata), and the answer says which and why.
    """
    allowed = snapshot.allowed(item_filter)
    depth = max(k, FUSION_DEPTH)
    dense: list[int] = []
    keyword: list[int] = []
    notes = []
    if snapshot.encoder is not None:
        dense = dense_candidates(snapshot, snapshot.encoder.encode(query), depth, allowed)[0]
        dense = dense.tolist()
    else:
        notes.append(f"keyword search only: {snapshot.dense_note}")
    if snapshot.keywords is not None:
        keyword = snapshot.keywords.top(query, depth, allowed).tolist()
    else:
        notes.append("dense search only: the snapshot has no items metadata")
    if snapshot.encoder is None and snapshot.keywords is None:
        raise SearchUnavailable(f"snapshot {snapshot.name} cannot answer text queries: {notes}")
    fused = reciprocal_rank_fusion([dense, keyword])
    if mmr is not None and fused:
        pool = fused[: k * MMR_POOL]
        relevance = np.array([score for _, score in pool])
        vectors = snapshot.vectors(np.array([position for position, _ in pool]))
        fused = [pool[i] for i in mmr_order(relevance / relevance.max(), vectors, k, mmr)]
    dense_ranks = {position: rank for rank, position in enumerate(dense, start=1)}
    keyword_ranks = {position: rank for rank, position in enumerate(keyword, start=1)}
    hits = [
        SearchHit(position, score, dense_ranks.get(position), keyword_ranks.get(position))
        for position, score in fused[:k]
    ]
    if snapshot.encoder is not None and snapshot.keywords is not None:
        mode = "hybrid"
    else:
        mode = "dense" if snapshot.encoder is not None else "keyword"
    return SearchAnswer(mode=mode, note="; ".join(notes) or None, hits=hits)
