"""Choose the snapshot's FAISS index by measuring candidates, not by rule of thumb.

Every candidate (a faiss factory string sized from the data, and at most one search
parameter to tune) is built on the vectors, tuned and measured against exact search on
held-out queries: recall@10, p50/p99 latency of single-thread single-query searches, and
its serialised bytes. The smallest one meeting the three limits (``target_recall_at_10``,
``max_bytes``, ``max_p99_ms``) wins; ties go to the lower p99. Every candidate's figures
come back for the manifest, including the ones never built and why.

Cost stays bounded, because build time is part of what is compared:

- candidates are tried in order of a lower bound of their size (codes and ids only), so
  one whose bound exceeds ``max_bytes``, or the size of an index already chosen, is
  dismissed without being built: the bound is never above the real size;
- IVF candidates that see the raw vectors share one trained coarse quantizer per
  ``nlist``, and training (k-means, PQ, OPQ) runs on a bounded, seeded sample;
- a search parameter is tuned on batched searches, smallest value first, stopping at the
  first that meets the recall target; latency is timed once, at the chosen value, and
  stops as soon as enough queries are over ``max_p99_ms`` to settle the p99.

For sets too large for the driver, :func:`train_on_sample` trains an empty index on a
bounded sample and :func:`add_in_partitions` adds the vectors per Spark partition and
merges the shards on the driver, one at a time, in position order.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from contentlake.config import IndexSettings

METRICS = {"inner_product": faiss.METRIC_INNER_PRODUCT, "l2": faiss.METRIC_L2}
RECALL_K = 10
# k-means wants about 39 points per centroid (faiss warns below that); IVF lists are
# sized so the training sample gives them that many.
MIN_POINTS_PER_CENTROID = 39
# PQ codebooks (256 centroids per sub-quantizer) and OPQ rotations stop gaining long
# before faiss's defaults (65,536 points and 25 rounds a codebook; 50 OPQ iterations of
# 4 PQ rounds, 40 at first). Each PQ round of 96 sub-quantizers took ~0.7 s on two shared
# cores, so the defaults cost minutes; these bounds cost ~20 s, and the candidate is
# measured anyway: what the bounds lose shows in its recall.
PQ_POINTS_PER_CENTROID = 64
PQ_ITERATIONS = 15
OPQ_TRAIN_POINTS = 256 * MIN_POINTS_PER_CENTROID
OPQ_ITERATIONS = 4
OPQ_PQ_ITERATIONS = 2
OPQ_FIRST_PQ_ITERATIONS = 4
# Below this many training floats, k-means and PQ kernels are too small for OpenMP to
# pay: on shared cores its spinning threads made a 2,000 x 32 OPQ training 15x slower.
SINGLE_THREAD_TRAINING_FLOATS = 1_000_000
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
}


class NoIndexMeetsTargets(RuntimeError):
    """No candidate met the recall, size and latency limits; ``figures`` says why each."""

    def __init__(self, figures: list[CandidateFigures], limits: str) -> None:
        self.figures = figures
        lines = [f"no index candidate meets {limits}:"]
        lines += [f"  {figure.summary()}" for figure in figures]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Candidate:
    """One index to try.

    ``factory`` is a faiss ``index_factory`` string that may hold ``{nlist}`` (IVF lists),
    ``{m}`` (PQ sub-quantizers, a divisor of the dimension) and ``{d}`` (the dimension),
    sized from the data by :func:`index_shape`. ``params`` is a fixed faiss
    ``ParameterSpace`` string applied before tuning; ``search_param`` is tuned over
    ``search_values``, smallest first.
    """

    name: str
    factory: str
    search_param: str | None = None
    search_values: tuple[int, ...] = ()
    params: str = ""

    def __post_init__(self) -> None:
        if (self.search_param is None) != (not self.search_values):
            raise ValueError(f"candidate {self.name}: a search parameter needs its values")
        if list(self.search_values) != sorted(set(self.search_values)) or any(
            value < 1 for value in self.search_values
        ):
            raise ValueError(f"candidate {self.name}: search values must be ascending, >= 1")


_NPROBE = ("nprobe", (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 128, 256))
DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    Candidate("flat", "Flat"),
    Candidate("sqfp16", "SQfp16"),
    Candidate("sq8", "SQ8"),
    Candidate("sq4", "SQ4"),
    Candidate("hnsw32", "HNSW32", "efSearch", (16, 32, 64, 128, 256, 512)),
    Candidate("ivf_flat", "IVF{nlist},Flat", *_NPROBE),
    Candidate("ivf_sq8", "IVF{nlist},SQ8", *_NPROBE),
    Candidate("ivf_sq6", "IVF{nlist},SQ6", *_NPROBE),
    Candidate("ivf_sq4", "IVF{nlist},SQ4", *_NPROBE),
    # "np": no polysemous training, which only serves Hamming pre-filtering (the ``ht``
    # parameter) and costs minutes on a few cores.
    Candidate("ivf_pq", "OPQ{m}_{d},IVF{nlist},PQ{m}np", *_NPROBE),
    # Not "IVF{nlist},RaBitQ4" (SQ4's size, near SQ6's recall): faiss 1.15 reconstructs
    # RaBitQ codes at cosine ~0.84 to the original, and Snapshot.similar_to queries with
    # the reconstructed vector. Configure it where queries are always fresh vectors.
    # Binary codes (1 bit a dimension) scanned, the best k * k_factor re-ranked on the
    # float vectors, which it therefore stores too: bigger than Flat, faster to scan.
    Candidate("binary_rerank", "RaBitQ,RFlat", "k_factor_rf", (1, 2, 4, 8, 16, 32, 64)),
)


def candidates_from_config(raw: Sequence[dict[str, Any]] | None) -> tuple[Candidate, ...]:
    """Candidates from ``index.candidates`` in the config; None means the defaults.

    An entry reads ``{name: ivf_pq, factory: "OPQ{m}_{d},IVF{nlist},PQ{m}np",
    params: "", search: {nprobe: [1, 2, 4, 8]}}``; ``params`` and ``search`` are optional.
    """
    if raw is None:
        return DEFAULT_CANDIDATES
    candidates = []
    for entry in raw:
        unknown = set(entry) - {"name", "factory", "params", "search"}
        if unknown or not {"name", "factory"} <= set(entry):
            raise ValueError(f"index candidate {entry!r}: needs name and factory, got {unknown}")
        search = entry.get("search") or {}
        if len(search) > 1:
            raise ValueError(f"index candidate {entry['name']}: tune one search parameter")
        param, values = next(iter(search.items()), (None, ()))
        candidates.append(
            Candidate(
                name=str(entry["name"]),
                factory=str(entry["factory"]),
                search_param=param,
                search_values=tuple(int(value) for value in values),
                params=str(entry.get("params") or ""),
            )
        )
    names = [candidate.name for candidate in candidates]
    if len(set(names)) != len(names):
        raise ValueError(f"index candidate names repeat: {names}")
    return tuple(candidates)


def parse_bytes(value: int | str | None) -> int | None:
    """``67108864``, ``"64MiB"`` or ``"64 MB"`` as a byte count; None stays None."""
    if value is None or isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {value!r} (e.g. 67108864, '64MiB', '500MB')")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class IndexShape:
    """Sizes that fill a factory string's placeholders."""

    nlist: int
    m: int
    d: int


def index_shape(vector_count: int, dim: int, train_count: int | None = None) -> IndexShape:
    """IVF lists and PQ sub-quantizers for ``vector_count`` vectors of ``dim``, trained on
    ``train_count`` of them (default: all).

    ``nlist`` is the power of two nearest ``2 * sqrt(n)`` (faiss's guide says 4 to 16
    times; fewer, longer lists cost less k-means and still reach high recall at a small
    nprobe), capped so each list has 39 training points. ``m`` is the largest divisor of
    the dimension up to a quarter of it: 4 dimensions a byte, a 16x compression.
    """
    train_count = vector_count if train_count is None else train_count
    nlist = 2 ** round(math.log2(max(2 * math.sqrt(vector_count), 1)))
    trainable = 2 ** int(math.log2(max(train_count // MIN_POINTS_PER_CENTROID, 1)))
    m = max(divisor for divisor in range(1, max(dim // 4, 1) + 1) if dim % divisor == 0)
    return IndexShape(nlist=max(1, min(nlist, trainable)), m=m, d=dim)


def resolve_factory(factory: str, shape: IndexShape) -> str:
    try:
        return factory.format(**asdict(shape))
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(
            f"factory {factory!r}: unknown placeholder {error}; use {{nlist}}, {{m}} or {{d}}"
        ) from None


def build_index(vectors: np.ndarray, factory: str, metric: str) -> faiss.Index:
    """An index of ``vectors`` (float32, one row per item) from a faiss factory string."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.index_factory(vectors.shape[1], factory, METRICS[metric])
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    return index


def apply_search_params(index: faiss.Index, params: str) -> None:
    """Set ``params`` (a ParameterSpace string like ``"nprobe=16"``) on ``index``.

    Search parameters are not part of the serialised index: a loaded snapshot needs the
    manifest's ``search_params`` applied again before it answers as it was measured.
    """
    if params:
        faiss.ParameterSpace().set_index_parameters(index, params)


def ensure_reconstructable(index: faiss.Index) -> None:
    """IVF indexes reconstruct a vector by id only with a direct map, which item-to-item
    search needs (the item's own vector is its query). The map lives in memory and is never
    written back to the snapshot's file."""
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None and ivf.direct_map.type == faiss.DirectMap.NoMap:
        ivf.make_direct_map()


def recall_at_k(found_ids: np.ndarray, truth_ids: np.ndarray, k: int = RECALL_K) -> float:
    """Mean over queries of |found top-k ∩ exact top-k| / k.

    Ids < 0 are faiss's "no result": never a hit, and a query with fewer than ``k`` exact
    neighbours (a set smaller than k + 1) is scored out of those it has.
    """
    found, truth = np.asarray(found_ids)[:, :k], np.asarray(truth_ids)[:, :k]
    if len(found) != len(truth):
        raise ValueError(f"{len(found)} result rows for {len(truth)} queries")
    scores = []
    for row_found, row_truth in zip(found, truth, strict=True):
        row_truth = row_truth[row_truth >= 0]
        hits = len(np.intersect1d(row_found[row_found >= 0], row_truth))
        scores.append(hits / len(row_truth) if len(row_truth) else 1.0)
    return float(np.mean(scores)) if scores else 1.0


def _without_self(ids: np.ndarray, self_ids: np.ndarray | None, k: int) -> np.ndarray:
    """The first ``k`` ids of each row, the query's own id dropped where present."""
    if self_ids is None:
        return ids[:, :k]
    # A stable sort on "is self" moves that one id to the end and keeps the others' order.
    order = np.argsort(ids == self_ids[:, None], axis=1, kind="stable")
    return np.take_along_axis(ids, order, axis=1)[:, :k]


def exact_neighbours(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: str,
    self_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Ids of the exact top-``k`` of each query (brute force); with ``self_ids``, the
    query's own row is not its neighbour (item-to-item search)."""
    exact = faiss.IndexFlat(vectors.shape[1], METRICS[metric])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    extra = 0 if self_ids is None else 1
    _, ids = exact.search(np.ascontiguousarray(queries, dtype=np.float32), k + extra)
    return _without_self(ids, self_ids, k)


@contextmanager
def omp_threads(count: int | None) -> Iterator[None]:
    """faiss's OpenMP thread count set to ``count`` (None: unchanged) for the block."""
    before = faiss.omp_get_max_threads()
    if count is not None:
        faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


@dataclass(frozen=True)
class Measurement:
    recall_at_10: float
    p50_ms: float
    p99_ms: float
    bytes: int
    latency_queries: int


def search_ids(
    index: faiss.Index, queries: np.ndarray, k: int, self_ids: np.ndarray | None = None
) -> np.ndarray:
    """Batched search (every thread) returning the top-``k`` ids, self dropped if given."""
    extra = 0 if self_ids is None else 1
    _, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k + extra)
    return _without_self(ids, self_ids, k)


def measure(
    index: faiss.Index,
    queries: np.ndarray,
    truth_ids: np.ndarray,
    k: int = RECALL_K,
    self_ids: np.ndarray | None = None,
    latency_queries: int | None = None,
    max_p99_ms: float | None = None,
) -> Measurement:
    """Recall@k against ``truth_ids``, single-query latency and serialised bytes.

    Latency is what one serving thread sees: one query a call, OpenMP held to a single
    thread (restored afterwards), over the first ``latency_queries`` queries after one
    untimed warm-up. Given ``max_p99_ms``, timing stops once enough queries are slower
    than it that the p99 is bound to be: the figures then cover the queries timed.
    """
    recall = recall_at_k(search_ids(index, queries, k, self_ids), truth_ids, k)
    timed = queries[: latency_queries or len(queries)]
    # Over this many slow queries the p99 (linear interpolation) is over the limit.
    settled = len(timed) - math.floor(0.99 * (len(timed) - 1))
    search_k = k + (0 if self_ids is None else 1)
    with omp_threads(1):
        index.search(np.ascontiguousarray(timed[:1], dtype=np.float32), search_k)
        seconds: list[float] = []
        slow = 0
        for row in timed:
            query = np.ascontiguousarray(row[None, :], dtype=np.float32)
            start = time.perf_counter()
            index.search(query, search_k)
            seconds.append(time.perf_counter() - start)
            if max_p99_ms is not None and seconds[-1] * 1000 > max_p99_ms:
                slow += 1
                if slow >= settled:
                    break
    millis = np.array(seconds) * 1000
    return Measurement(
        recall_at_10=recall,
        p50_ms=float(np.percentile(millis, 50)) if len(millis) else 0.0,
        p99_ms=float(np.percentile(millis, 99)) if len(millis) else 0.0,
        bytes=int(faiss.serialize_index(index).size),
        latency_queries=len(millis),
    )


@dataclass
class CandidateFigures:
    """One candidate's line in the manifest: what was built and how it measured."""

    name: str
    factory: str
    search_params: str = ""
    recall_at_10: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    bytes: int | None = None
    min_bytes: int | None = None
    build_s: float | None = None
    tune_s: float | None = None
    latency_queries: int | None = None
    met: bool = False
    reason: str = ""

    def summary(self) -> str:
        if self.recall_at_10 is None:
            return f"{self.name} ({self.factory}): {self.reason}"
        figures = f"recall@10 {self.recall_at_10:.4f}, p99 {self.p99_ms:.2f} ms, {self.bytes} bytes"
        verdict = "meets the limits" if self.met else self.reason
        setting = f"{self.factory} {self.search_params}".strip()
        return f"{self.name} ({setting}): {figures}; {verdict}"


@dataclass
class Choice:
    """The chosen index (built on every vector, search parameters applied) and the
    figures of every candidate."""

    index: faiss.Index
    name: str
    factory: str
    search_params: str
    metric: str
    figures: list[CandidateFigures]
    limits: dict[str, Any] = field(default_factory=dict)

    @property
    def chosen(self) -> CandidateFigures:
        return next(figure for figure in self.figures if figure.name == self.name)

    def manifest(self) -> dict[str, Any]:
        """The ``index`` section's facts about the choice, JSON-ready."""
        return {
            "factory": self.factory,
            "search_params": self.search_params,
            "metric": self.metric,
            "choice": {
                "chosen": self.name,
                **self.limits,
                "candidates": [asdict(figure) for figure in self.figures],
            },
        }


@dataclass
class _Held:
    """What every candidate is measured on."""

    queries: np.ndarray
    truth: np.ndarray
    self_ids: np.ndarray | None
    train: np.ndarray


def choose_index(
    vectors: np.ndarray,
    metric: str,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    target_recall_at_10: float = 0.95,
    max_bytes: int | None = None,
    max_p99_ms: float | None = None,
    queries: np.ndarray | None = None,
    query_count: int = 1000,
    latency_query_count: int = 200,
    max_train_points: int = 50_000,
    seed: int = 0,
) -> Choice:
    """Build, tune and measure ``candidates`` on ``vectors``; return the smallest that
    meets every limit, or raise :class:`NoIndexMeetsTargets`.

    Without ``queries``, ``query_count`` of the vectors themselves are the queries (the
    item-to-item search snapshots serve), each one's own row excluded from its
    neighbours, and they are left out of the training sample. Recall is against exact
    search over every vector.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(METRICS)}")
    if len(vectors) == 0:
        raise ValueError("no vectors to index")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    held = _hold_out(vectors, metric, queries, query_count, max_train_points, seed)
    shape = index_shape(len(vectors), vectors.shape[1], len(held.train))
    limits = {
        "target_recall_at_10": target_recall_at_10,
        "max_bytes": max_bytes,
        "max_p99_ms": max_p99_ms,
        "queries": len(held.queries),
        "queries_are_items": held.self_ids is not None,
        "training_points": len(held.train),
    }
    planned = []
    for order, candidate in enumerate(candidates):
        factory = resolve_factory(candidate.factory, shape)
        try:
            empty = faiss.index_factory(vectors.shape[1], factory, METRICS[metric])
        except RuntimeError as error:
            planned.append((0, order, candidate, factory, None, _faiss_reason(error)))
            continue
        planned.append((min_bytes(empty, len(vectors)), order, candidate, factory, empty, ""))
    planned.sort(key=lambda plan: (plan[0], plan[1]))

    figures: list[CandidateFigures] = []
    best: tuple[CandidateFigures, faiss.Index] | None = None
    coarse: dict[int, np.ndarray] = {}
    for lower_bound, _, candidate, factory, empty, reason in planned:
        figure = CandidateFigures(candidate.name, factory, min_bytes=lower_bound)
        figures.append(figure)
        if empty is None:
            figure.reason = f"cannot build: {reason}"
        elif max_bytes is not None and lower_bound > max_bytes:
            figure.reason = f"needs at least {lower_bound} bytes, over max_bytes {max_bytes}"
        elif best is not None and lower_bound > best[0].bytes:
            figure.reason = f"needs at least {lower_bound} bytes, more than {best[0].name}"
        else:
            index = _build_and_measure(
                figure,
                candidate,
                empty,
                vectors,
                held,
                coarse,
                target_recall_at_10,
                max_bytes,
                max_p99_ms,
                latency_query_count,
            )
            if figure.met and (
                best is None or (figure.bytes, figure.p99_ms) < (best[0].bytes, best[0].p99_ms)
            ):
                best = (figure, index)
    figures.sort(key=lambda figure: [c.name for c in candidates].index(figure.name))
    if best is None:
        raise NoIndexMeetsTargets(figures, _describe(limits))
    chosen, index = best
    return Choice(index, chosen.name, chosen.factory, chosen.search_params, metric, figures, limits)


def _describe(limits: dict[str, Any]) -> str:
    return (
        f"recall@10 >= {limits['target_recall_at_10']}, "
        f"bytes <= {limits['max_bytes']}, p99 <= {limits['max_p99_ms']} ms"
    )


def _hold_out(
    vectors: np.ndarray,
    metric: str,
    queries: np.ndarray | None,
    query_count: int,
    max_train_points: int,
    seed: int,
) -> _Held:
    rng = np.random.default_rng(seed)
    n = len(vectors)
    if queries is None:
        # A quarter at most: small sets keep most of their rows for training.
        query_rows = np.sort(rng.choice(n, size=max(1, min(query_count, n // 4)), replace=False))
        self_ids = query_rows.astype(np.int64)
        queries = vectors[query_rows]
        pool = np.setdiff1d(np.arange(n), query_rows)
    else:
        self_ids = None
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        pool = np.arange(n)
    train_rows = np.sort(rng.choice(pool, size=min(len(pool), max_train_points), replace=False))
    truth = exact_neighbours(vectors, queries, RECALL_K, metric, self_ids)
    return _Held(queries=queries, truth=truth, self_ids=self_ids, train=vectors[train_rows])


def _build_and_measure(
    figure: CandidateFigures,
    candidate: Candidate,
    index: faiss.Index,
    vectors: np.ndarray,
    held: _Held,
    coarse: dict[int, np.ndarray],
    target: float,
    max_bytes: int | None,
    max_p99_ms: float | None,
    latency_query_count: int,
) -> faiss.Index | None:
    """Fill ``figure`` in; return the built index (None if it could not be built)."""
    needed = min_training_points(index)
    if len(held.train) < needed:
        figure.reason = f"cannot build: needs {needed} training points, has {len(held.train)}"
        return None
    start = time.perf_counter()
    try:
        _train(index, held.train, coarse)
        index.add(vectors)
        apply_search_params(index, candidate.params)
    except RuntimeError as error:
        figure.reason = f"cannot build: {_faiss_reason(error)}"
        return None
    figure.build_s = round(time.perf_counter() - start, 3)

    start = time.perf_counter()
    try:
        value, _ = _tune(index, candidate, held, target)
    except RuntimeError as error:  # a search parameter this index does not have
        figure.reason = f"cannot tune: {_faiss_reason(error)}"
        return None
    tuned = f"{candidate.search_param}={value}" if value is not None else ""
    figure.search_params = ",".join(part for part in (candidate.params, tuned) if part)
    measured = measure(
        index,
        held.queries,
        held.truth,
        RECALL_K,
        held.self_ids,
        latency_query_count,
        max_p99_ms,
    )
    figure.tune_s = round(time.perf_counter() - start, 3)
    figure.recall_at_10 = round(measured.recall_at_10, 6)
    figure.p50_ms = round(measured.p50_ms, 4)
    figure.p99_ms = round(measured.p99_ms, 4)
    figure.bytes = measured.bytes
    figure.latency_queries = measured.latency_queries
    misses = []
    if measured.recall_at_10 < target:
        at = f" at {figure.search_params}" if value else ""
        misses.append(f"recall@10 {measured.recall_at_10:.4f} < {target}{at}")
    if max_bytes is not None and measured.bytes > max_bytes:
        misses.append(f"{measured.bytes} bytes > max_bytes {max_bytes}")
    if max_p99_ms is not None and measured.p99_ms > max_p99_ms:
        misses.append(f"p99 {measured.p99_ms:.2f} ms > {max_p99_ms} ms")
    figure.met = not misses
    figure.reason = "; ".join(misses)
    return index


def _tune(
    index: faiss.Index, candidate: Candidate, held: _Held, target: float
) -> tuple[int | None, float]:
    """The smallest search value whose recall meets ``target`` (else the best one).

    Values past what the index can use (nprobe over nlist) are cut to it; recall rises
    with each of these parameters, so the first value that meets the target is the one
    to keep and larger values are never searched.
    """
    if candidate.search_param is None:
        return None, recall_at_k(
            search_ids(index, held.queries, RECALL_K, held.self_ids), held.truth
        )
    values = candidate.search_values
    ivf = faiss.try_extract_index_ivf(index)
    if candidate.search_param == "nprobe" and ivf is not None:
        values = tuple(sorted({min(value, ivf.nlist) for value in values}))
    best_value, best_recall = values[0], -1.0
    for value in values:
        apply_search_params(index, f"{candidate.search_param}={value}")
        recall = recall_at_k(search_ids(index, held.queries, RECALL_K, held.self_ids), held.truth)
        if recall > best_recall:
            best_value, best_recall = value, recall
        if recall >= target:
            break
    apply_search_params(index, f"{candidate.search_param}={best_value}")
    return best_value, best_recall


def _train(index: faiss.Index, sample: np.ndarray, coarse: dict[int, np.ndarray]) -> None:
    """Train on ``sample`` with bounded k-means, reusing coarse centroids per nlist."""
    if index.is_trained:
        return
    _bound_training(index)
    ivf = faiss.try_extract_index_ivf(index)
    shared = ivf is not None and _sees_raw_vectors(index) and ivf.quantizer.ntotal == 0
    shared = shared and isinstance(faiss.downcast_index(ivf.quantizer), faiss.IndexFlat)
    if shared and ivf.nlist in coarse:
        # faiss skips the coarse k-means when the quantizer already holds nlist centroids.
        ivf.quantizer.add(coarse[ivf.nlist])
    with omp_threads(1 if sample.size < SINGLE_THREAD_TRAINING_FLOATS else None):
        index.train(sample)
    if shared and ivf.nlist not in coarse:
        coarse[ivf.nlist] = ivf.quantizer.reconstruct_n(0, ivf.nlist)


def _sees_raw_vectors(index: faiss.Index) -> bool:
    """Whether the IVF inside ``index`` is fed the input vectors (no transform first)."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        return False
    if isinstance(index, faiss.IndexRefine):
        return _sees_raw_vectors(index.base_index)
    return isinstance(index, faiss.IndexIVF)


def _bound_training(index: faiss.Index) -> None:
    """Lower faiss's training budgets where they exceed what the index gains from."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        for position in range(index.chain.size()):
            transform = faiss.downcast_VectorTransform(index.chain.at(position))
            if isinstance(transform, faiss.OPQMatrix):
                transform.max_train_points = min(transform.max_train_points, OPQ_TRAIN_POINTS)
                transform.niter = min(transform.niter, OPQ_ITERATIONS)
                transform.niter_pq = min(transform.niter_pq, OPQ_PQ_ITERATIONS)
                transform.niter_pq_0 = min(transform.niter_pq_0, OPQ_FIRST_PQ_ITERATIONS)
        _bound_training(index.index)
    elif isinstance(index, faiss.IndexRefine):
        _bound_training(index.base_index)
    elif isinstance(index, (faiss.IndexIVFPQ, faiss.IndexPQ)):
        index.pq.cp.max_points_per_centroid = PQ_POINTS_PER_CENTROID
        index.pq.cp.niter = min(index.pq.cp.niter, PQ_ITERATIONS)


def min_training_points(index: faiss.Index) -> int:
    """Training points ``index`` needs: 39 a centroid for each PQ codebook in it.

    faiss only warns below that, but PQ k-means on a few hundred points can abort the
    whole process (an exception thrown inside an OpenMP loop), so it is never tried.
    """
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        needed = [min_training_points(index.index)]
        for position in range(index.chain.size()):
            transform = faiss.downcast_VectorTransform(index.chain.at(position))
            if isinstance(transform, faiss.OPQMatrix):
                # OPQ trains 8-bit PQ codebooks in its loop.
                needed.append(256 * MIN_POINTS_PER_CENTROID)
        return max(needed)
    if isinstance(index, faiss.IndexRefine):
        return min_training_points(index.base_index)
    pq = getattr(index, "pq", None)
    if isinstance(pq, faiss.ProductQuantizer):
        return pq.ksub * MIN_POINTS_PER_CENTROID
    return 0


def min_bytes(index: faiss.Index, n: int) -> int:
    """A lower bound of ``index``'s serialised size once it holds ``n`` vectors.

    Only codes, stored ids and graph links count: never above the real size, so an
    index whose bound is too big is too big.
    """
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        return min_bytes(index.index, n)
    if isinstance(index, faiss.IndexRefine):
        return min_bytes(index.base_index, n) + min_bytes(index.refine_index, n)
    if isinstance(index, faiss.IndexIVF):
        return n * (index.code_size + 8)
    if isinstance(index, faiss.IndexHNSW):
        links = index.hnsw.nb_neighbors(0) * 4
        return n * links + min_bytes(index.storage, n)
    if isinstance(index, faiss.IndexFlatCodes):
        return n * index.code_size
    return 0


def _faiss_reason(error: Exception) -> str:
    """The useful last part of a faiss C++ error message."""
    message = str(error).strip().splitlines()[-1] if str(error).strip() else repr(error)
    return message.split("Error: ")[-1].split(": ", 1)[-1] if "Error" in message else message


# Sharded build: the driver trains, Spark partitions add, the driver merges.


def train_on_sample(
    vectors_df: DataFrame,
    factory: str,
    metric: str,
    vector_col: str = "embedding",
    sample_rows: int = 50_000,
    seed: int = 0,
) -> faiss.Index:
    """An empty index trained on at most ``sample_rows`` vectors sampled by Spark.

    ``factory`` is normally a :class:`Choice`'s, already sized; placeholders left in it
    are sized from the row count and the sample as :func:`choose_index` sizes them.
    """
    total = vectors_df.count()
    fraction = min(1.0, 1.2 * sample_rows / max(total, 1))
    sample_pdf = (
        vectors_df.select(vector_col).sample(fraction=fraction, seed=seed).limit(sample_rows)
    ).toPandas()
    sample = _as_matrix(sample_pdf[vector_col])
    index = faiss.index_factory(
        sample.shape[1],
        resolve_factory(factory, index_shape(total, sample.shape[1], len(sample))),
        METRICS[metric],
    )
    _train(index, sample, {})
    return index


def add_in_partitions(
    vectors_df: DataFrame,
    trained_index: faiss.Index,
    vector_col: str = "embedding",
    position_col: str = "position",
    partitions: int | None = None,
) -> faiss.Index:
    """``trained_index`` holding every vector of ``vectors_df`` at its ``position``.

    Positions must be 0..n-1 (row ``i`` of the index is the id map's position ``i``).
    Rows are range-partitioned by position, so each partition adds a contiguous run; the
    driver merges shards in partition order, holding the merged index and one shard at a
    time, never the raw vectors. The result equals adding every vector in position order
    on the driver. HNSW graphs and fast-scan IVF lists cannot be merged (faiss has no
    merge for the one and corrupts memory merging the other): build those on the driver.
    """
    _require_mergeable(trained_index)
    spark = vectors_df.sparkSession
    payload = spark.sparkContext.broadcast(faiss.serialize_index(trained_index).tobytes())
    partitions = partitions or spark.sparkContext.defaultParallelism

    def build_shards(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import pandas as pd

        shard, first = None, None
        for batch in batches:
            if batch.empty:
                continue
            positions = batch[position_col].to_numpy(dtype=np.int64)
            if shard is None:
                shard = faiss.deserialize_index(np.frombuffer(payload.value, dtype=np.uint8))
                first = int(positions[0])
            expected = np.arange(first + shard.ntotal, first + shard.ntotal + len(positions))
            if not np.array_equal(positions, expected):
                raise ValueError(f"{position_col} must run 0..n-1 without gaps or repeats")
            shard.add(_as_matrix(batch[vector_col]))
        if shard is not None:
            blob = faiss.serialize_index(shard).tobytes()
            yield pd.DataFrame({"first": [first], "count": [shard.ntotal], "shard": [blob]})

    shards_df = (
        vectors_df.select(position_col, vector_col)
        .repartitionByRange(partitions, position_col)
        .sortWithinPartitions(position_col)
        .mapInPandas(build_shards, "first long, count long, shard binary")
    )
    merged = faiss.deserialize_index(faiss.serialize_index(trained_index))
    # toLocalIterator fetches partitions in order, one at a time; range partitions are in
    # position order, which the check below confirms rather than assumes.
    for row in shards_df.toLocalIterator():
        if row["first"] != merged.ntotal:
            raise ValueError(
                f"shard starting at {position_col} {row['first']} follows {merged.ntotal} "
                f"vectors: {position_col} must run 0..n-1 without gaps or repeats"
            )
        _merge_into(merged, faiss.deserialize_index(np.frombuffer(row["shard"], np.uint8)))
    return merged


def _as_matrix(column: pd.Series) -> np.ndarray:
    return np.ascontiguousarray(np.vstack(column.to_numpy()), dtype=np.float32)


def _require_mergeable(index: faiss.Index) -> None:
    """Raise unless :func:`_merge_into` can merge shards of ``index``."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        _require_mergeable(index.index)
        return
    if isinstance(index, faiss.IndexRefine):
        _require_mergeable(index.base_index)
        _require_mergeable(index.refine_index)
        return
    fast_scan = (faiss.IndexIVFFastScan, faiss.IndexFastScan)
    mergeable = (faiss.IndexIVF, faiss.IndexFlatCodes)
    if isinstance(index, mergeable) and not isinstance(index, fast_scan):
        return
    raise ValueError(
        f"{type(index).__name__} shards cannot be merged: build this index on the driver"
    )


def _merge_into(target: faiss.Index, shard: faiss.Index) -> None:
    """Append ``shard``'s vectors to ``target``; their ids continue from target.ntotal."""
    # Downcast proxies do not own their index: the arguments keep both alive meanwhile.
    into, other = faiss.downcast_index(target), faiss.downcast_index(shard)
    if isinstance(into, faiss.IndexRefine):
        # faiss has no merge for a refined index; its two halves each merge.
        _merge_into(into.base_index, other.base_index)
        _merge_into(into.refine_index, other.refine_index)
        into.ntotal += other.ntotal
    elif faiss.try_extract_index_ivf(into) is not None:
        # IVF lists store ids: shift the shard's 0-based ones by what target holds.
        into.merge_from(other, into.ntotal)
    else:
        # Flat codes have no ids: a vector's id is its row, so appending is enough.
        into.merge_from(other)


# From configuration: what publish_index builds its snapshots with.


def index_recipe(settings: IndexSettings) -> str:
    """Everything in ``settings`` that decides which index gets built, as one string:
    part of the snapshot fingerprint, so new limits or candidates publish a new snapshot."""
    if not settings.chosen_by_measurement:
        return settings.factory
    recipe = {
        "target_recall_at_10": settings.target_recall_at_10,
        "max_bytes": parse_bytes(settings.max_bytes),
        "max_p99_ms": settings.max_p99_ms,
        "candidates": [asdict(c) for c in candidates_from_config(settings.candidates)],
        "queries": settings.choice_queries,
        "train": settings.max_train_points,
    }
    return "choose:" + json.dumps(recipe, sort_keys=True)


def configured_builder(
    settings: IndexSettings, log: Callable[[str], None] | None = None
) -> Callable[[np.ndarray], tuple[faiss.Index, dict[str, Any]]]:
    """A ``publish_snapshot`` builder: the fixed factory, or the index chosen by
    measurement, with the manifest's ``index`` entries (every candidate's figures)."""
    if not settings.chosen_by_measurement:

        def fixed(vectors: np.ndarray) -> tuple[faiss.Index, dict[str, Any]]:
            index = build_index(vectors, settings.factory, settings.metric)
            return index, {"factory": settings.factory, "search_params": ""}

        return fixed
    candidates = candidates_from_config(settings.candidates)

    def chosen(vectors: np.ndarray) -> tuple[faiss.Index, dict[str, Any]]:
        choice = choose_index(
            vectors,
            settings.metric,
            candidates,
            target_recall_at_10=settings.target_recall_at_10,
            max_bytes=parse_bytes(settings.max_bytes),
            max_p99_ms=settings.max_p99_ms,
            query_count=settings.choice_queries,
            latency_query_count=settings.latency_queries,
            max_train_points=settings.max_train_points,
        )
        if log is not None:
            for figure in choice.figures:
                log(("* " if figure.name == choice.name else "  ") + figure.summary())
        return choice.index, choice.manifest()

    return chosen
