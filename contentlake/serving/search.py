"""Pure ranking rules of the serving layer: fusion, diversity, filtered retrieval.

No faiss object and no I/O here: each function takes arrays (or a search callable) and
returns positions, so every rule is checked on hand-made inputs. Positions are rows of the
snapshot's index; the caller turns them into content ids at the edge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# The constant of Cormack et al.'s reciprocal-rank fusion: large enough that rank 1 of one
# list does not drown ranks 2..10 of the other.
RRF_K = 60
# Filtered retrieval asks the index for this many times the hits it still needs, and
# multiplies again on each round that comes back short.
OVERFETCH = 4

SearchFn = Callable[[int], tuple[np.ndarray, np.ndarray]]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = RRF_K
) -> list[tuple[int, float]]:
    """Fuse ranked lists: ``score(d) = sum over lists of 1 / (k + rank of d)``, ranks from 1.

    Returns ``(position, score)`` best first. A position repeated within one list counts
    at its first rank only. Exact ties keep the order in which the items first appear when
    the lists are read round-robin (every list's rank 1, then every rank 2, ...), so the
    earlier list wins a tie.
    """
    terms: dict[int, list[float]] = {}
    seen: list[set[int]] = [set() for _ in rankings]
    for rank in range(max((len(ranking) for ranking in rankings), default=0)):
        for ranking, seen_here in zip(rankings, seen, strict=True):
            if rank >= len(ranking) or ranking[rank] in seen_here:
                continue
            seen_here.add(ranking[rank])
            terms.setdefault(ranking[rank], []).append(1.0 / (k + rank + 1))
    # Summing each item's terms in sorted order makes equal rank sets equal floats: float
    # addition is not associative, and a 1-ulp difference would break the tie rule.
    scores = [(position, sum(sorted(parts))) for position, parts in terms.items()]
    scores.sort(key=lambda item: -item[1])  # stable: ties stay in appearance order
    return scores


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), so dot products are cosines."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def mmr_order(relevance: np.ndarray, vectors: np.ndarray, k: int, lambda_: float) -> list[int]:
    """Maximal marginal relevance: indices of ``k`` candidates, picked greedily.

    Each step takes ``argmax lambda * relevance[i] - (1 - lambda) * max_j cos(v_i, v_j)``
    over the candidates ``j`` already picked; the first pick is the most relevant one.
    ``lambda_ = 1`` keeps the relevance order, ``0`` only spreads out. Ties go to the
    lower index, i.e. the candidate the retrieval ranked first.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    k = min(k, len(relevance))
    if k == 0:
        return []
    unit = unit_rows(vectors).astype(np.float64)
    similarity = unit @ unit.T
    picked: list[int] = []
    taken = np.zeros(len(relevance), dtype=bool)
    closest = np.zeros(len(relevance))
    for step in range(k):
        gain = lambda_ * relevance - (1.0 - lambda_) * closest if step else relevance.copy()
        gain[taken] = -np.inf
        choice = int(np.argmax(gain))  # the first maximum: ties to the lower index
        picked.append(choice)
        taken[choice] = True
        closest = similarity[choice] if step == 0 else np.maximum(closest, similarity[choice])
    return picked


def filtered_top_k(
    search: SearchFn,
    k: int,
    ntotal: int,
    allowed: np.ndarray | None = None,
    exclude: int | None = None,
    overfetch: int = OVERFETCH,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best hits of ``search`` whose positions pass ``allowed`` and are not
    ``exclude``, as ``(positions, scores)`` in the index's order.

    ``search(n)`` returns the index's top ``n`` as ``(scores, positions)``, ``-1`` padding
    short answers. With a filter, the first round asks for ``overfetch`` times what is
    needed and each short round multiplies that again, until ``k`` hits pass, the index
    has no more to give (a padded answer) or all ``ntotal`` vectors were asked for.
    """
    needed = k + (exclude is not None)
    fetch = min(needed if allowed is None else needed * overfetch, ntotal)
    if fetch <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    while True:
        scores, positions = search(fetch)
        keep = positions >= 0
        if exclude is not None:
            keep &= positions != exclude
        if allowed is not None:
            keep &= allowed[np.where(keep, positions, 0)]
        hits = np.flatnonzero(keep)[:k]
        exhausted = fetch >= ntotal or bool((positions < 0).any())
        if len(hits) == k or exhausted:
            return positions[hits], scores[hits]
        fetch = min(fetch * overfetch, ntotal)


def exact_top_k(
    query: np.ndarray,
    vectors: np.ndarray,
    positions: np.ndarray,
    k: int,
    inner_product: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top ``k`` of a small candidate set (``vectors[i]`` is at ``positions[i]``),
    as ``(positions, scores)``: inner product, best first, or squared L2, nearest first,
    the faiss metrics' own scores. Ties keep the candidates' order."""
    if inner_product:
        scores = vectors @ query
        order = np.argsort(-scores, kind="stable")[:k]
    else:
        scores = ((vectors - query) ** 2).sum(axis=1)
        order = np.argsort(scores, kind="stable")[:k]
    return positions[order], scores[order].astype(np.float32)


def top_scored(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Positions of the ``k`` highest positive ``scores`` (among ``allowed`` ones), best
    first; equal scores in position order. A score of zero means no match at all."""
    candidates = np.flatnonzero(scores > 0)
    if allowed is not None:
        candidates = candidates[allowed[candidates]]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order[:k]]
