"""Load one published snapshot for serving: verified, memory-mapped, ready to answer.

Everything a request needs is built here, once per snapshot, so a request does no set-up:
the content id -> position dict, the metadata arrays for filters, the BM25 index and the
query model. A :class:`ServedSnapshot` is never changed after loading; a new snapshot
replaces it whole (see :mod:`contentlake.serving.watcher`).

Memory mapping in faiss 1.15 (measured on a 200k x 256 index): ``IO_FLAG_MMAP_IFC`` maps
the vectors in place for Flat indexes, the flat storage under HNSW (its graph links are
still read into memory) and the inverted lists of IVF indexes. The older ``IO_FLAG_MMAP``
only maps IVF lists and reads Flat and HNSW into memory. Mapped pages live in the page
cache: several workers on one host share one copy, and a load costs little memory. Any
index type that refuses the flag is read into memory instead.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pyarrow.parquet as pq

from contentlake.index_choice import apply_search_params, ensure_reconstructable
from contentlake.index_snapshot import (
    ID_MAP_FILE,
    INDEX_FILE,
    ITEMS_FILE,
    MANIFEST_FILE,
    REFUSED_FILE,
    SnapshotError,
    promotions,
    verify_files,
)
from contentlake.serving.keyword import KeywordIndex
from contentlake.serving.metadata import ItemFilter, ItemMetadata
from contentlake.serving.query_encoder import QueryEncoder, load_query_encoder

logger = logging.getLogger(__name__)
MMAP_FLAGS = faiss.IO_FLAG_MMAP_IFC


@dataclass(eq=False)
class ServedSnapshot:
    """A loaded snapshot and everything built from it for answering requests."""

    name: str
    path: Path
    manifest: dict[str, Any]
    index: faiss.Index
    ids: list[str]
    positions: dict[str, int]
    metadata: ItemMetadata | None
    keywords: KeywordIndex | None
    encoder: QueryEncoder | None
    dense_note: str | None
    search_params: str | None
    memory_mapped: bool
    loaded_at: str
    # The REFUSED reason of a snapshot served anyway, by a forced promotion.
    refused: str | None = None

    @property
    def inner_product(self) -> bool:
        """Scores are similarities (higher is closer) rather than L2 distances."""
        return self.index.metric_type == faiss.METRIC_INNER_PRODUCT

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The index's top ``n`` for one query vector: ``(scores, positions)``."""
        scores, positions = self.index.search(query.reshape(1, -1), n)
        return scores[0], positions[0]

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        return self.index.reconstruct_batch(np.asarray(positions, dtype=np.int64))

    def allowed(self, item_filter: ItemFilter | None) -> np.ndarray | None:
        """Positions that pass ``item_filter``; None when it filters nothing."""
        if not item_filter:
            return None
        if self.metadata is None:
            raise FiltersUnavailable(f"snapshot {self.name} has no items metadata to filter on")
        return self.metadata.mask(item_filter)


class FiltersUnavailable(ValueError):
    """Filters were asked of a snapshot published without ``items.parquet``."""


class RefusedSnapshot(SnapshotError):
    """CURRENT names a refused snapshot that no forced promotion put there."""


def forced_promotion(snapshots_root: Path, name: str) -> bool:
    """Whether the last move of CURRENT to ``name`` was ``snapshots promote --force``.

    That command serves a refused snapshot on purpose and says so in the promotions log
    (a reason ending in "(forced)", or a ``forced`` flag); nothing else may serve one.
    """
    moves = [move for move in promotions(snapshots_root) if move.get("snapshot") == name]
    if not moves:
        return False
    last = moves[-1]
    return last.get("forced") is True or str(last.get("reason", "")).endswith("(forced)")


def read_index(path: Path) -> tuple[faiss.Index, bool]:
    """The index, memory-mapped where its type allows; and whether it is."""
    try:
        return faiss.read_index(str(path), MMAP_FLAGS), True
    except RuntimeError as error:
        logger.info("%s cannot be memory-mapped (%s); reading it into memory", path, error)
        return faiss.read_index(str(path)), False


def snapshot_folder(snapshots_root: Path, name: str) -> tuple[Path, str | None]:
    """The folder of snapshot ``name`` and, if it is refused but forced, why it was refused."""
    folder = (snapshots_root / name).resolve()
    if folder.parent != snapshots_root.resolve():
        # CURRENT names one folder of the snapshots root; '../x' or a path does not.
        raise SnapshotError(f"snapshot {name!r} is outside the snapshots root {snapshots_root}")
    if not (folder / MANIFEST_FILE).is_file():
        raise SnapshotError(f"{folder} has no {MANIFEST_FILE}")
    refused = None
    if (folder / REFUSED_FILE).is_file():
        refused = (folder / REFUSED_FILE).read_text().strip()
        if not forced_promotion(snapshots_root, name):
            raise RefusedSnapshot(f"snapshot {name} was refused: {refused}")
    return folder, refused


def load_served_snapshot(
    snapshots_root: Path,
    name: str,
    search_params: str | None = None,
    device: str = "cpu",
) -> ServedSnapshot:
    """Verify and load snapshot ``name``; raise :class:`SnapshotError` if it must not serve.

    ``search_params`` overrides the manifest's ``index.search_params`` (an operator trading
    recall for latency without a republish).
    """
    folder, refused = snapshot_folder(snapshots_root, name)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    # Verifying reads every byte once, which also leaves the mapped index in the page
    # cache: the first requests then take no major page faults.
    verify_files(folder, manifest)
    index, mapped = read_index(folder / INDEX_FILE)
    ids = pq.read_table(folder / ID_MAP_FILE).sort_by("position").column("content_id").to_pylist()
    if len(ids) != index.ntotal:
        raise SnapshotError(f"{folder}: {len(ids)} ids for {index.ntotal} vectors")
    params = search_params or manifest.get("index", {}).get("search_params")
    apply_search_params(index, params)
    ensure_reconstructable(index)
    metadata = keywords = None
    if ITEMS_FILE in manifest["files"]:
        items = pq.read_table(folder / ITEMS_FILE)
        if items.num_rows != len(ids) or items.column("content_id").to_pylist() != ids:
            raise SnapshotError(f"{folder}: {ITEMS_FILE} is not one row per id in id order")
        metadata = ItemMetadata.from_table(items)
        keywords = KeywordIndex(
            [
                f"{title} {text}"
                for title, text in zip(metadata.titles, metadata.descriptions, strict=True)
            ]
        )
    encoder, dense_note = load_query_encoder(manifest.get("model", {}), index.d, device)
    return ServedSnapshot(
        name=name,
        path=folder,
        manifest=manifest,
        index=index,
        ids=ids,
        positions={content_id: position for position, content_id in enumerate(ids)},
        metadata=metadata,
        keywords=keywords,
        encoder=encoder,
        dense_note=dense_note,
        search_params=params,
        memory_mapped=mapped,
        loaded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        refused=refused,
    )
