"""The HTTP service (FastAPI) over the snapshot that ``CURRENT`` names.

- ``GET /similar/{content_id}?k=10&content_type=&language=&genre=&mmr=``: nearest items;
- ``GET /search?q=...&k=10&content_type=&language=&genre=&mmr=``: hybrid text search;
- ``GET /healthz``: the served snapshot (name, vectors, model, loaded_at), 503 if none.

Unknown ids answer 404, invalid parameters 422, and every endpoint answers 503 until a
snapshot has been published and loaded.

Latency: ``/similar`` is ``async`` so it runs on the event loop with no thread hop (one
HNSW query is a fraction of a millisecond); its query parameters are parsed by
:mod:`contentlake.serving.params` rather than by FastAPI's pydantic machinery, and it
returns a ``JSONResponse`` of plain lists and dicts, skipping response-model validation
and encoding. ``/search`` runs a transformer for the query (milliseconds), so it is a
plain ``def`` that FastAPI runs in its thread pool, leaving the loop free for ``/similar``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from contentlake.serving.loader import FiltersUnavailable, ServedSnapshot, load_served_snapshot
from contentlake.serving.params import openapi_parameters, parse_filter, parse_k, parse_mmr
from contentlake.serving.retrieval import (
    SearchUnavailable,
    UnknownItem,
    hybrid_search,
    similar_items,
)
from contentlake.serving.watcher import SnapshotWatcher

QUERY_PARAMETERS = {"parameters": openapi_parameters()}


def create_app(
    snapshots_root: Path,
    *,
    poll_interval_s: float = 1.0,
    search_params: str | None = None,
    device: str = "cpu",
) -> FastAPI:
    """The service for ``snapshots_root``; the snapshot loads when the app starts up.

    ``poll_interval_s``: how often CURRENT is checked; ``search_params`` overrides the
    manifests' ``index.search_params``; ``device`` runs the query model.
    """
    load = functools.partial(load_served_snapshot, search_params=search_params, device=device)
    watcher = SnapshotWatcher(Path(snapshots_root), load=load, interval_s=poll_interval_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        watcher.start()
        try:
            yield
        finally:
            watcher.stop()

    app = FastAPI(title="contentlake serving", lifespan=lifespan)
    app.state.watcher = watcher

    def served() -> ServedSnapshot:
        snapshot = watcher.current
        if snapshot is None:
            raise HTTPException(503, detail=_unavailable(watcher))
        return snapshot

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        snapshot = watcher.current
        if snapshot is None:
            return JSONResponse(
                {"status": "unavailable", "detail": _unavailable(watcher)}, status_code=503
            )
        return JSONResponse(_health(snapshot, watcher.last_error))

    @app.get("/similar/{content_id}", openapi_extra=QUERY_PARAMETERS)
    async def similar(content_id: str, request: Request) -> JSONResponse:
        params = request.query_params
        k, item_filter, mmr = parse_k(params), parse_filter(params), parse_mmr(params)
        snapshot = served()  # one snapshot for the whole request, whatever swaps meanwhile
        try:
            positions, scores = similar_items(snapshot, content_id, k, item_filter, mmr)
        except UnknownItem as error:
            raise HTTPException(404, detail=str(error)) from None
        except FiltersUnavailable as error:
            raise HTTPException(422, detail=str(error)) from None
        results = [
            _result(snapshot, position, score)
            for position, score in zip(positions.tolist(), scores.tolist(), strict=True)
        ]
        return JSONResponse(
            {"snapshot": snapshot.name, "content_id": content_id, "results": results}
        )

    @app.get("/search", openapi_extra=QUERY_PARAMETERS)
    def search(
        q: Annotated[str, Query(min_length=1, max_length=1000, description="query text")],
        request: Request,
    ) -> JSONResponse:
        params = request.query_params
        k, item_filter, mmr = parse_k(params), parse_filter(params), parse_mmr(params)
        snapshot = served()
        try:
            answer = hybrid_search(snapshot, q, k, item_filter, mmr)
        except FiltersUnavailable as error:
            raise HTTPException(422, detail=str(error)) from None
        except SearchUnavailable as error:
            raise HTTPException(503, detail=str(error)) from None
        results = [
            {
                **_result(snapshot, hit.position, hit.score),
                "dense_rank": hit.dense_rank,
                "keyword_rank": hit.keyword_rank,
            }
            for hit in answer.hits
        ]
        return JSONResponse(
            {
                "snapshot": snapshot.name,
                "query": q,
                "mode": answer.mode,
                "note": answer.note,
                "results": results,
            }
        )

    return app


def _result(snapshot: ServedSnapshot, position: int, score: float) -> dict[str, Any]:
    result = {"content_id": snapshot.ids[position], "score": score}
    if snapshot.metadata is not None:
        result.update(snapshot.metadata.describe(position))
    return result


def _health(snapshot: ServedSnapshot, last_error: str | None) -> dict[str, Any]:
    index = snapshot.manifest.get("index", {})
    return {
        "status": "ok",
        "snapshot": snapshot.name,
        "vectors": int(snapshot.index.ntotal),
        "model": snapshot.manifest.get("model"),
        "index": {
            "factory": index.get("factory"),
            "metric": index.get("metric"),
            "search_params": snapshot.search_params,
            "memory_mapped": snapshot.memory_mapped,
        },
        "dense_search": snapshot.encoder is not None,
        "dense_note": snapshot.dense_note,
        "keyword_search": snapshot.keywords is not None,
        "loaded_at": snapshot.loaded_at,
        # Set when a refused snapshot serves because `snapshots promote --force` said so.
        "refused": snapshot.refused,
        # A newer snapshot that failed to load while this one kept serving.
        "last_error": last_error,
    }


def _unavailable(watcher: SnapshotWatcher) -> str:
    reason = f"no snapshot is served from {watcher.snapshots_root}"
    return f"{reason}: {watcher.last_error}" if watcher.last_error else f"{reason} yet"
