"""Judging a snapshot built by a new embedding model against the one the old model serves.

Changing ``embedding.model`` makes ``embed_content`` write the new model's vectors beside the
old ones (``model_version`` is part of the key) and ``publish_index`` stage a snapshot of the
new model only. Both snapshots are then judged on the same queries: the offline evaluation
of behaviour where there is enough of it (the ``evaluation`` gate), and otherwise the
catalogue's own signal, genre precision@k of each item's neighbours. Until the new snapshot
passes, the old one keeps serving. No Spark: everything here reads the two snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from contentlake.neighbour_overlap import overlap_of, sample_items
from contentlake.retrieval_eval import Searchable, rankings
from contentlake.snapshot_gates import GateResult


def model_version_of(manifest: dict[str, Any]) -> str | None:
    return (manifest.get("model") or {}).get("version")


def genre_precision_at_k(
    found: dict[str, list[str]], genres: dict[str, set[str]], k: int
) -> float | None:
    """Mean share of each query item's ``k`` neighbours (``found``, from ``rankings``) that
    share a genre with it. Items without genres are not asked; None when no query has any.
    """
    shares = [
        sum(bool(genres.get(other, set()) & genres[query]) for other in neighbours) / k
        for query, neighbours in found.items()
        if genres.get(query)
    ]
    return float(np.mean(shares)) if shares else None


def genres_by_id(
    snapshot: Searchable, genres: Sequence[Sequence[str] | None]
) -> dict[str, set[str]]:
    """``genres`` (one entry per index row of ``snapshot``) by content id."""
    return {
        content_id: set(found or ()) for content_id, found in zip(snapshot.ids, genres, strict=True)
    }


def compare_models(
    staged: Searchable,
    staged_manifest: dict[str, Any],
    served: Searchable,
    served_manifest: dict[str, Any],
    genres: tuple[Sequence[Sequence[str] | None], Sequence[Sequence[str] | None]],
    k: int,
    sample: int,
) -> dict[str, Any]:
    """The manifest's ``model_migration`` entry: both versions, how far the neighbour lists
    moved, and both snapshots' genre precision@k on the same sample of items. Each
    snapshot is searched once for the sample; both figures come from those lists."""
    shared = sample_items(set(staged.ids) & set(served.ids), sample)
    served_lists, staged_lists = rankings(served, shared, k), rankings(staged, shared, k)
    overlap = overlap_of(served_lists, staged_lists)
    return {
        "from": model_version_of(served_manifest),
        "to": model_version_of(staged_manifest),
        "served_snapshot": served_manifest.get("snapshot"),
        "queries": len(shared),
        f"neighbour_overlap@{k}": overlap.overlap,
        f"genre_precision@{k}": {
            "staged": genre_precision_at_k(staged_lists, genres_by_id(staged, genres[0]), k),
            "served": genre_precision_at_k(served_lists, genres_by_id(served, genres[1]), k),
        },
    }


def genre_precision_not_worse(migration: dict[str, Any], k: int, tolerance: float) -> GateResult:
    """A new model's neighbours share genres at least as often as the old model's did,
    less ``tolerance``: the migration gate when behaviour is too thin to judge."""
    precision = migration[f"genre_precision@{k}"]
    staged, served = precision["staged"], precision["served"]
    change = f"model {migration['from']} -> {migration['to']}"
    if staged is None or served is None:
        return GateResult("model_migration", True, f"{change}: no item has genres to judge by")
    return GateResult(
        "model_migration",
        staged >= served - tolerance,
        f"{change}: genre precision@{k} {staged:.4f} against {served:.4f} served "
        f"(refused below {served - tolerance:.4f}; behaviour too thin to judge)",
    )
