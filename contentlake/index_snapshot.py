"""FAISS index snapshots: build, publish atomically, load and query.

A snapshot is a folder ``<snapshots>/<run_date>_<fingerprint>/`` holding three files:

- ``index.faiss``: the index; row ``i`` of it is the vector of the id in row ``i`` of
- ``id_map.parquet``: ``(position, content_id)``;
- ``items.parquet`` (when given): the items' serving metadata (title, description, content
  type, language, genres), for filters and keyword search;
- ``manifest.json``: sources (Delta table versions), model, index type and parameters,
  vector count, self-recall, sha256 of the other two files and the creation time.

Publishing writes into a hidden temporary folder, renames it into place (atomic on one
file system) and only then swaps the ``CURRENT`` pointer file with ``os.replace``. A
reader that follows ``CURRENT`` therefore never sees a partial snapshot. The fingerprint
covers everything the index is built from, so rebuilding the same inputs is a no-op on any
date: the snapshot already built from them is reused and keeps the date it was first
published under.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from contentlake import snapshot_gates as gates
from contentlake.index_choice import apply_search_params, build_index, ensure_reconstructable
from contentlake.snapshot_gates import GateResult

INDEX_FILE = "index.faiss"
ID_MAP_FILE = "id_map.parquet"
ITEMS_FILE = "items.parquet"
MANIFEST_FILE = "manifest.json"
CURRENT_POINTER = "CURRENT"
REFUSED_FILE = "REFUSED"
PROMOTIONS_LOG = "promotions.jsonl"
SELF_RECALL_SAMPLE = 512


class SnapshotRefused(RuntimeError):
    """A built snapshot failed its gate: it stays on disk, marked, and is never served."""


class SnapshotError(RuntimeError):
    """A snapshot is missing, incomplete or does not match its manifest."""


def snapshot_fingerprint(
    ids: list[str], input_hashes: list[str], model_version: str, factory: str, metric: str
) -> str:
    """sha256 over everything that determines the index's content."""
    digest = hashlib.sha256(f"{model_version}|{factory}|{metric}".encode())
    for content_id, input_hash in zip(ids, input_hashes, strict=True):
        digest.update(f"\n{content_id}\t{input_hash}".encode())
    return digest.hexdigest()


def self_recall_at_1(
    index: faiss.Index,
    vectors: np.ndarray,
    sample: int = SELF_RECALL_SAMPLE,
    positions: np.ndarray | None = None,
) -> float:
    """Share of (a spread-out sample of) vectors whose nearest neighbour is themselves.

    ``positions`` are the index rows ``vectors`` hold (default: every row, in order).
    Exact indexes score 1.0 unless vectors repeat; approximate ones show their loss here.
    """
    if len(vectors) == 0:
        return 1.0
    rows = np.unique(np.linspace(0, len(vectors) - 1, min(sample, len(vectors))).astype(int))
    expected = rows if positions is None else np.asarray(positions, dtype=np.int64)[rows]
    _, found = index.search(np.ascontiguousarray(vectors[rows], dtype=np.float32), 1)
    return float(np.mean(found[:, 0] == expected))


# What a job adds to the staged snapshot's judgement: more manifest entries (e.g. its
# offline evaluation) and the results of its own gates (count, model versions, evaluation).
Review = Callable[["Snapshot"], tuple[dict[str, Any], list[GateResult]]]
# Builds the index of the vectors; returns it with its manifest "index" entries (factory,
# search parameters, the candidates measured when the index was chosen by measurement).
IndexBuilder = Callable[[np.ndarray], tuple[faiss.Index, dict[str, Any]]]


def publish_snapshot(
    snapshots_root: Path,
    run_date: date,
    ids: list[str],
    vectors: np.ndarray,
    fingerprint: str,
    factory: str,
    metric: str,
    manifest_extra: dict[str, Any],
    min_self_recall: float = 0.0,
    items: pa.Table | None = None,
    *,
    builder: IndexBuilder | None = None,
    review: Review | None = None,
    positions: np.ndarray | None = None,
) -> Path:
    """Build, gate and publish a snapshot unless one with this fingerprint exists; return it.

    ``items`` (one row per id, a ``content_id`` column first) is stored beside the index.
    ``builder`` builds the index (default: ``factory`` as it is) from ``vectors``. When
    the builder gets the vectors elsewhere (a build sharded over Spark partitions),
    ``vectors`` is a sample of them at index rows ``positions``, which the gates check and
    the builder ignores. The snapshot is staged,
    then judged, then promoted: its vectors must be finite and non-zero, find themselves
    (self-recall@1 at least ``min_self_recall``) and pass ``review``'s gates. A snapshot that
    fails any gate is kept on disk with a ``REFUSED`` file listing every reason (and the
    gates in its manifest), CURRENT does not move, and :class:`SnapshotRefused` is raised.

    An unchanged index is never republished under a new date. When the current snapshot
    has this fingerprint, nothing is written and CURRENT stays. When an older snapshot has
    it (the inputs went back to what they were, e.g. a model rolled back), nothing is built
    and CURRENT points at that snapshot again, unless CURRENT serves a later run date than
    ``run_date`` (a backfill must not roll serving back).
    """
    snapshots_root.mkdir(parents=True, exist_ok=True)
    existing = snapshot_with_fingerprint(snapshots_root, fingerprint)
    if existing is not None:
        if (existing / REFUSED_FILE).is_file():
            raise SnapshotRefused(f"{existing.name}: {(existing / REFUSED_FILE).read_text()}")
        if existing.name != current_snapshot_name(snapshots_root):
            _advance_pointer(snapshots_root, existing.name, run_date, "republished inputs")
        return existing
    name = f"{run_date.isoformat()}_{fingerprint[:12]}"
    final = snapshots_root / name
    if not final.is_dir():
        staging = snapshots_root / f".staging-{name}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            index, index_entries = (builder or _factory_builder(factory, metric))(vectors)
            _write_snapshot(
                staging,
                name,
                run_date,
                ids,
                vectors,
                metric,
                index,
                index_entries,
                fingerprint,
                manifest_extra,
                items,
                positions,
            )
            _judge(staging, vectors, min_self_recall, review)
            os.rename(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if (final / REFUSED_FILE).is_file():
        raise SnapshotRefused(f"{name}: {(final / REFUSED_FILE).read_text()}")
    _advance_pointer(snapshots_root, name, run_date, "published")
    return final


def _factory_builder(factory: str, metric: str) -> IndexBuilder:
    return lambda vectors: (build_index(vectors, factory, metric), {"factory": factory})


def _judge(staged: Path, vectors: np.ndarray, min_self_recall: float, review: Review | None):
    """Run every gate on the staged snapshot; record them in its manifest, and the
    reasons of any refusal in a REFUSED file."""
    manifest = read_manifest(staged)
    results = [
        gates.finite_nonzero_vectors(vectors),
        gates.self_recall(manifest["index"]["self_recall_at_1"], min_self_recall),
    ]
    if review is not None:
        extra, review_results = review(load_snapshot(staged.parent, staged.name, verify=False))
        manifest.update(extra)
        results += review_results
    manifest["gates"] = [result.as_dict() for result in results]
    _write_manifest(staged, manifest)
    if reasons := gates.refusals(results):
        (staged / REFUSED_FILE).write_text("\n".join(reasons) + "\n")


def snapshot_with_fingerprint(snapshots_root: Path, fingerprint: str) -> Path | None:
    """The published snapshot built from ``fingerprint``'s inputs: the current one if it
    is, else the newest; None if there is none."""
    current = current_snapshot_name(snapshots_root)
    matches = []
    for folder in snapshots_root.iterdir():
        manifest_path = folder / MANIFEST_FILE
        if folder.name.startswith(".") or not manifest_path.is_file():
            continue
        if json.loads(manifest_path.read_text()).get("fingerprint") == fingerprint:
            matches.append(folder)
    matches.sort(key=lambda folder: (folder.name == current, folder.name))
    return matches[-1] if matches else None


def _write_snapshot(
    folder: Path,
    name: str,
    run_date: date,
    ids: list[str],
    vectors: np.ndarray,
    metric: str,
    index: faiss.Index,
    index_entries: dict[str, Any],
    fingerprint: str,
    manifest_extra: dict[str, Any],
    items: pa.Table | None = None,
    positions: np.ndarray | None = None,
) -> None:
    faiss.write_index(index, str(folder / INDEX_FILE))
    id_map = pa.table(
        {
            "position": pa.array(range(len(ids)), pa.int64()),
            "content_id": pa.array(ids, pa.string()),
        }
    )
    pq.write_table(id_map, folder / ID_MAP_FILE)
    files = [INDEX_FILE, ID_MAP_FILE]
    if items is not None:
        if items.column("content_id").to_pylist() != list(ids):
            raise ValueError("items must hold one row per id, in the ids' order")
        pq.write_table(items, folder / ITEMS_FILE)
        files.append(ITEMS_FILE)
    manifest = {
        "snapshot": name,
        "run_date": run_date.isoformat(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fingerprint": fingerprint,
        "vector_count": int(index.ntotal),
        "index": {
            "metric": metric,
            "dim": int(index.d),
            "faiss_version": faiss.__version__,
            "self_recall_at_1": self_recall_at_1(index, vectors, positions=positions),
            **index_entries,
        },
        "files": {
            file: {"sha256": _sha256(folder / file), "bytes": (folder / file).stat().st_size}
            for file in files
        },
        **manifest_extra,
    }
    _write_manifest(folder, manifest)
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    staging = folder / f".{MANIFEST_FILE}.{uuid.uuid4().hex[:8]}"
    staging.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(staging, folder / MANIFEST_FILE)


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST_FILE).read_text())


def _advance_pointer(snapshots_root: Path, name: str, run_date: date, reason: str) -> None:
    """Point CURRENT at ``name`` unless it already points at a later run date.

    A backfill of an old date publishes its snapshot but must not roll serving back.
    """
    current = current_snapshot_name(snapshots_root)
    if current is not None and current != name:
        current_date = date.fromisoformat(current.split("_", 1)[0])
        if current_date > run_date:
            return
    point_current(snapshots_root, name, reason)


def point_current(snapshots_root: Path, name: str, reason: str, forced: bool = False) -> None:
    """Swap CURRENT to ``name`` atomically and note the move in the promotions log.

    The log (one JSON line per move) is what a rollback reads to find the snapshot served
    before; the pointer moves first, so a crash in between loses a log line, never a swap.
    """
    previous = current_snapshot_name(snapshots_root)
    staging = snapshots_root / f".{CURRENT_POINTER}.{uuid.uuid4().hex[:8]}"
    staging.write_text(name + "\n")
    os.replace(staging, snapshots_root / CURRENT_POINTER)
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "snapshot": name,
        "previous": previous,
        "reason": reason,
        "forced": forced,
    }
    with (snapshots_root / PROMOTIONS_LOG).open("a") as log:
        log.write(json.dumps(entry) + "\n")


def promotions(snapshots_root: Path) -> list[dict[str, Any]]:
    """Every move of CURRENT, oldest first."""
    log = snapshots_root / PROMOTIONS_LOG
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def current_snapshot_name(snapshots_root: Path) -> str | None:
    pointer = snapshots_root / CURRENT_POINTER
    return pointer.read_text().strip() if pointer.is_file() else None


def prune_snapshots(snapshots_root: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest snapshots; the CURRENT one always stays."""
    current = current_snapshot_name(snapshots_root)
    snapshots = sorted(
        (p for p in snapshots_root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    doomed = [p for p in snapshots[: max(len(snapshots) - keep, 0)] if p.name != current]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


@dataclass
class Snapshot:
    """A loaded snapshot: ``search`` answers by content id."""

    path: Path
    manifest: dict[str, Any]
    index: faiss.Index
    ids: list[str]
    items: pa.Table | None = None

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """The ``k`` nearest items of each query vector as (content_id, score)."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        scores, positions = self.index.search(queries, k)
        return [
            [(self.ids[p], float(s)) for p, s in zip(row_p, row_s, strict=True) if p >= 0]
            for row_p, row_s in zip(positions, scores, strict=True)
        ]

    def vector(self, content_id: str) -> np.ndarray:
        try:
            position = self.ids.index(content_id)
        except ValueError:
            raise KeyError(f"{content_id} is not in snapshot {self.path.name}") from None
        return self.index.reconstruct(position)

    def similar_to(self, content_id: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` items nearest to ``content_id``, itself excluded."""
        neighbours = self.search(self.vector(content_id), k + 1)[0]
        return [(other, score) for other, score in neighbours if other != content_id][:k]


def load_snapshot(snapshots_root: Path, name: str | None = None, verify: bool = True) -> Snapshot:
    """Load ``name`` (default: the CURRENT snapshot), checking file checksums."""
    name = name or current_snapshot_name(snapshots_root)
    if name is None:
        raise SnapshotError(f"no snapshot has been published under {snapshots_root}")
    folder = (snapshots_root / name).resolve()
    if folder.parent != snapshots_root.resolve():
        # A name is one folder of the snapshots root; '../x' or an absolute path is not.
        raise SnapshotError(f"snapshot {name!r} is outside the snapshots root {snapshots_root}")
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise SnapshotError(f"{folder} has no {MANIFEST_FILE}")
    manifest = json.loads(manifest_path.read_text())
    if verify:
        verify_files(folder, manifest)
    index = faiss.read_index(str(folder / INDEX_FILE))
    ids = pq.read_table(folder / ID_MAP_FILE).sort_by("position").column("content_id").to_pylist()
    if len(ids) != index.ntotal:
        raise SnapshotError(f"{folder}: {len(ids)} ids for {index.ntotal} vectors")
    items = pq.read_table(folder / ITEMS_FILE) if ITEMS_FILE in manifest["files"] else None
    # Search parameters (nprobe, efSearch) are not serialised with the index.
    apply_search_params(index, manifest["index"].get("search_params", ""))
    ensure_reconstructable(index)
    return Snapshot(path=folder, manifest=manifest, index=index, ids=ids, items=items)


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file of the manifest is there with its recorded sha256."""
    for file, expected in manifest["files"].items():
        path = folder / file
        if not path.is_file():
            raise SnapshotError(f"{path} is missing")
        if _sha256(path) != expected["sha256"]:
            raise SnapshotError(f"{path} does not match its manifest checksum")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
