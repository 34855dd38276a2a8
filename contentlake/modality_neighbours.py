"""Nearest neighbours of items in each modality's vectors, on the driver. No Spark.

The demo prints, for a few items, their neighbours by text, by look, by behaviour and fused
(``contentlake.demo``), and ``bench/modalities.py`` scores each modality's neighbours by
genre. Both read the vectors of ``content_embeddings`` (at the configured model version of
each modality: :func:`read_modality_vectors`) and rank by exact cosine here: at demo and
benchmark size (hundreds to a few thousand items) one matrix product is cheaper than
building an index per modality.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModalityVectors:
    """One modality's vectors: ``ids`` sorted, ``matrix`` row i the unit vector of ids[i]."""

    ids: tuple[str, ...]
    matrix: np.ndarray

    @classmethod
    def from_mapping(cls, vectors: Mapping[str, Sequence[float]]) -> ModalityVectors:
        """From ``content_id -> vector``; rows are L2-normalised so that a dot product is a
        cosine whatever the writer stored (a zero vector stays zero: it matches nothing)."""
        ids = tuple(sorted(vectors))
        if not ids:
            return cls((), np.zeros((0, 0), dtype=np.float32))
        matrix = np.asarray([vectors[i] for i in ids], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return cls(ids, matrix / np.where(norms > 0, norms, 1.0))

    def __contains__(self, content_id: str) -> bool:
        return content_id in self._positions

    @property
    def _positions(self) -> dict[str, int]:
        # Not cached on the frozen instance: building it is cheap next to a matrix product.
        return {content_id: n for n, content_id in enumerate(self.ids)}

    def nearest(self, queries: Sequence[str], k: int) -> dict[str, list[tuple[str, float]]]:
        """Each query item's ``k`` nearest other items by cosine, best first, as
        ``(content_id, cosine)``; ties go to the smaller id (a stable order, not an
        accident of the sort). Queries without a vector here are left out."""
        positions = self._positions
        rows = [positions[q] for q in queries if q in positions]
        if not rows:
            return {}
        scores = self.matrix[rows] @ self.matrix.T
        answers = {}
        for row, query_scores in zip(rows, scores, strict=True):
            query_scores = query_scores.astype(np.float64)
            query_scores[row] = -np.inf  # the item itself is no neighbour
            # lexsort: last key first, so score descending, then position (= id order).
            order = np.lexsort((np.arange(len(self.ids)), -query_scores))
            answers[self.ids[row]] = [
                (self.ids[n], float(query_scores[n])) for n in order[:k] if n != row
            ]
        return answers


def neighbours_by_modality(
    vectors: Mapping[str, ModalityVectors], queries: Sequence[str], k: int
) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """``modality -> query -> its k nearest (id, cosine)`` in that modality's vectors,
    modalities in the order given; a query without a vector of a modality is absent there."""
    return {modality: found.nearest(queries, k) for modality, found in vectors.items()}


def genre_precision(
    neighbours: Mapping[str, Sequence[tuple[str, float]]],
    primary_genre: Mapping[str, str],
    k: int,
) -> float | None:
    """Mean over the queries of the share of their ``k`` nearest items whose primary genre
    is the query's primary genre (a missing neighbour counts as a miss); None: no query."""
    shares = [
        sum(primary_genre.get(other) == primary_genre[query] for other, _ in found[:k]) / k
        for query, found in neighbours.items()
    ]
    return sum(shares) / len(shares) if shares else None


def pick_items(vectors: Mapping[str, ModalityVectors], count: int) -> list[str]:
    """``count`` items that have a vector in every modality given that has any, evenly
    spread over their sorted ids (the same items run after run), fewer when fewer do."""
    present = [set(found.ids) for found in vectors.values() if found.ids]
    shared = sorted(set.intersection(*present)) if present else []
    step = max(len(shared) // max(count, 1), 1)
    return shared[::step][:count]


MODALITY_LABELS = {"text": "by text", "visual": "by look", "behaviour": "by behaviour"}


def neighbour_lines(
    neighbours: Mapping[str, Mapping[str, Sequence[tuple[str, float]]]],
    queries: Sequence[str],
    describe: Mapping[str, str],
) -> list[str]:
    """The demo's printout: per query, its description, then per modality its neighbours
    (cosine, id, description; ``?`` for an id ``describe`` lacks)."""
    lines = []
    for query in queries:
        lines += ["", f"  {query} {describe.get(query, '?')}"]
        for modality, found in neighbours.items():
            lines.append(f"    {MODALITY_LABELS.get(modality, modality)}:")
            for other, score in found.get(query, []):
                lines.append(f"      {score:.3f}  {other} {describe.get(other, '?')}")
            if query not in found:
                lines.append("      (no vector)")
    return lines


def read_modality_vectors(spark, cfg, modalities: Sequence[str]) -> dict[str, ModalityVectors]:
    """Each modality's vectors of ``content_embeddings`` at the model version the
    configuration gives it (the one ``publish_index`` would index), to the driver."""
    from pyspark.sql import functions as F

    from contentlake.modality_versions import indexed_model_version

    found = {}
    for modality in modalities:
        version = indexed_model_version(spark, cfg, modality)
        rows = (
            spark.table("content_embeddings")
            .filter((F.col("modality") == modality) & (F.col("model_version") == version))
            .select("content_id", "embedding")
            .collect()
        )
        found[modality] = ModalityVectors.from_mapping({r.content_id: r.embedding for r in rows})
    return found
