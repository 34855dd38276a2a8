"""The serving app over real HTTP on loopback: uvicorn in a thread, httpx as the client.

Snapshots are published with the pipeline's own ``publish_snapshot`` from vectors of the
tiny test model, and every expected answer is computed here with numpy: exact neighbours
(Flat index, inner product), filters as row selections, RRF by its formula.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pytest
import uvicorn
from contentlake.udfs.text_embedding import encode_batch, load_text_model, model_fingerprint

from contentlake.index_snapshot import CURRENT_POINTER, INDEX_FILE, publish_snapshot
from contentlake.serving.app import create_app
from contentlake.serving.search import mmr_order

# (content_id, title, description, content_type, language, genres)
ITEMS = [
    ("c1", "Night train", "A sleeper train crosses the Alps at night", "movie", "en", ["drama"]),
    ("c2", "Kitchen rules", "Chefs compete over a weekend menu", "series", "en", ["reality"]),
    ("c3", "Le dernier métro", "Un théâtre à Paris sous l'occupation", "movie", "fr", ["drama"]),
    ("c4", "Goal of the week", "The best goals of the football season", "clip", "en", ["sport"]),
    ("c5", "The lighthouse keeper", "Storms and solitude on a rocky coast", "movie", "en", []),
    ("c6", "Cuisine facile", "Recettes rapides pour tous les jours", "series", "fr", ["reality"]),
    ("c7", "Mountain rescue", "Pilots fly into the storm", "episode", "de", ["drama", "docu"]),
    ("c8", "Deep sea", "Creatures of the ocean floor", "movie", "en", ["docu"]),
]
MORE_ITEMS = [
    ("c9", "Desert rally", "Trucks race across the dunes", "episode", "en", ["sport"]),
    ("c10", "Tiny houses", "People who live small", "series", "en", ["docu"]),
]
COLUMNS = ("content_id", "title", "description", "content_type", "language", "genres")


@pytest.fixture(scope="module")
def encoder(tiny_model_path):
    return load_text_model(tiny_model_path, "cpu")


def publish(root: Path, run_date: date, rows: list[tuple], model_path: str, encoder):
    """Publish ``rows`` as a Flat inner-product snapshot; return its name and vectors."""
    ids = [row[0] for row in rows]
    vectors = encode_batch(encoder, [f"{row[1]}. {row[2]}" for row in rows])
    items = pa.table(
        {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)},
        schema=pa.schema([(name, pa.string()) for name in COLUMNS[:-1]]).append(
            pa.field("genres", pa.list_(pa.string()))
        ),
    )
    path = publish_snapshot(
        root,
        run_date,
        ids,
        vectors,
        fingerprint=f"{run_date.isoformat()}-{len(ids)}".ljust(16, "0"),
        factory="Flat",
        metric="inner_product",
        manifest_extra={
            "model": {
                "name": model_path,
                "version": model_fingerprint(model_path),
                "modality": "text",
            }
        },
        items=items,
    )
    return path.name, ids, vectors


def expected_similar(ids, vectors, content_id, k, keep=lambda row: True):
    """Exact top ``k`` by inner product among rows that ``keep``, the item itself left out."""
    query = vectors[ids.index(content_id)]
    scores = vectors @ query
    rows = [i for i in np.argsort(-scores, kind="stable") if ids[i] != content_id]
    rows = [i for i in rows if keep(ITEMS[i] if i < len(ITEMS) else MORE_ITEMS[i - len(ITEMS)])]
    return [ids[i] for i in rows[:k]], [float(scores[i]) for i in rows[:k]]


@contextmanager
def serving(app) -> Iterator[httpx.Client]:
    """``app`` under uvicorn on a free loopback port, and a keep-alive client for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        # trust_env=False: a proxy from the environment must not see loopback calls.
        with httpx.Client(base_url=base_url, timeout=10, trust_env=False) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_path, encoder):
    root = tmp_path_factory.mktemp("serving") / "snapshots"
    name, ids, vectors = publish(root, date(2026, 11, 1), ITEMS, tiny_model_path, encoder)
    with serving(create_app(root)) as client:
        yield client, name, ids, vectors


def test_healthz_names_the_snapshot_and_its_model(served, tiny_model_path):
    client, name, ids, _ = served
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["snapshot"] == name
    assert health["vectors"] == len(ids)
    assert health["model"]["version"] == model_fingerprint(tiny_model_path)
    assert health["index"]["memory_mapped"] is True
    assert health["dense_search"] and health["keyword_search"] and health["loaded_at"]


def test_similar_returns_the_exact_neighbours(served):
    client, name, ids, vectors = served
    body = client.get("/similar/c1", params={"k": 4}).json()
    expected_ids, expected_scores = expected_similar(ids, vectors, "c1", 4)
    assert body["snapshot"] == name
    assert [hit["content_id"] for hit in body["results"]] == expected_ids
    assert [hit["score"] for hit in body["results"]] == pytest.approx(expected_scores, abs=1e-5)
    assert body["results"][0]["title"] == ITEMS[ids.index(expected_ids[0])][1]


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"language": "en"}, lambda row: row[4] == "en"),
        ({"content_type": "movie"}, lambda row: row[3] == "movie"),
        ({"genre": "drama"}, lambda row: "drama" in row[5]),
        ({"genre": "docu", "language": "en"}, lambda row: "docu" in row[5] and row[4] == "en"),
        ({"language": "xx"}, lambda row: False),
        ({"genre": "western"}, lambda row: False),
    ],
)
def test_similar_applies_metadata_filters(served, params, keep):
    client, _, ids, vectors = served
    body = client.get("/similar/c1", params={"k": 8, **params}).json()
    assert [hit["content_id"] for hit in body["results"]] == expected_similar(
        ids, vectors, "c1", 8, keep
    )[0]


def test_similar_with_mmr_reorders_the_candidates(served):
    client, _, ids, vectors = served
    plain = client.get("/similar/c2", params={"k": 3}).json()["results"]
    relevance_only = client.get("/similar/c2", params={"k": 3, "mmr": 1}).json()["results"]
    assert [hit["content_id"] for hit in relevance_only] == [hit["content_id"] for hit in plain]

    pool = expected_similar(ids, vectors, "c2", 15)[0]  # all 7 others: 5 x k exceeds them
    rows = [ids.index(content_id) for content_id in pool]
    relevance = vectors[rows] @ vectors[ids.index("c2")]
    order = mmr_order(relevance, vectors[rows], 3, 0.3)
    diverse = client.get("/similar/c2", params={"k": 3, "mmr": 0.3}).json()["results"]
    assert [hit["content_id"] for hit in diverse] == [pool[i] for i in order]


def test_search_fuses_dense_and_keyword_rankings(served, encoder):
    client, _, ids, vectors = served
    body = client.get("/search", params={"q": "lighthouse", "k": 8}).json()

    dense = np.argsort(-(vectors @ encode_batch(encoder, ["lighthouse"])[0]), kind="stable")
    keyword = [ids.index("c5")]  # the only item with the word
    fused = {ids[row]: 1 / (60 + rank) for rank, row in enumerate(dense, start=1)}
    for rank, row in enumerate(keyword, start=1):
        fused[ids[row]] += 1 / (60 + rank)
    expected = sorted(fused, key=lambda content_id: -fused[content_id])

    assert body["mode"] == "hybrid" and body["note"] is None
    assert [hit["content_id"] for hit in body["results"]] == expected
    assert expected[0] == "c5"
    assert [hit["score"] for hit in body["results"]] == pytest.approx(
        [fused[content_id] for content_id in expected]
    )
    assert body["results"][0]["keyword_rank"] == 1


def test_search_filters_both_rankings(served):
    client, *_ = served
    body = client.get("/search", params={"q": "storm", "language": "de"}).json()
    assert [hit["content_id"] for hit in body["results"]] == ["c7"]


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        ("/similar/nope", {}, 404, "'nope' is not in snapshot"),
        ("/similar/c1", {"k": 0}, 422, None),
        ("/similar/c1", {"k": "ten"}, 422, None),
        ("/similar/c1", {"genre": ""}, 422, None),
        ("/similar/c1", {"k": 10_000}, 422, None),
        ("/similar/c1", {"mmr": 1.5}, 422, None),
        ("/search", {}, 422, None),
        ("/search", {"q": ""}, 422, None),
        ("/search", {"q": "storm", "mmr": "-0.1"}, 422, None),
    ],
)
def test_bad_requests_say_what_is_wrong(served, path, params, status, detail):
    client, *_ = served
    response = client.get(path, params=params)
    assert response.status_code == status
    if detail:
        assert detail in response.json()["detail"]


def test_follows_current_without_dropping_a_request(tmp_path, tiny_model_path, encoder):
    root = tmp_path / "snapshots"
    with serving(create_app(root, poll_interval_s=0.05)) as client:
        # Nothing published yet: every endpoint says so.
        assert client.get("/healthz").status_code == 503
        assert "no snapshot is served" in client.get("/similar/c1").json()["detail"]

        first, ids, vectors = publish(root, date(2026, 11, 1), ITEMS, tiny_model_path, encoder)
        wait_for(lambda: client.get("/healthz").json().get("snapshot") == first)
        expected = {first: expected_similar(ids, vectors, "c1", 3)[0]}

        answers, failures, stop = [], [], threading.Event()

        def keep_asking() -> None:
            with httpx.Client(base_url=client.base_url, timeout=10, trust_env=False) as own:
                while not stop.is_set():
                    try:
                        response = own.get("/similar/c1", params={"k": 3})
                        answers.append((response.status_code, response.json()))
                    except httpx.HTTPError as error:
                        failures.append(error)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            rows = ITEMS + MORE_ITEMS
            second, ids, vectors = publish(root, date(2026, 11, 2), rows, tiny_model_path, encoder)
            wait_for(lambda: client.get("/healthz").json()["snapshot"] == second)
            expected[second] = expected_similar(ids, vectors, "c1", 3)[0]
            count = len(answers)
            wait_for(lambda: len(answers) > count + 20)
        finally:
            stop.set()
            asker.join()

        assert failures == [] and {status for status, _ in answers} == {200}
        # Each answer is whole: the neighbours of the one snapshot it names.
        for _, body in answers:
            assert [hit["content_id"] for hit in body["results"]] == expected[body["snapshot"]]
        assert {body["snapshot"] for _, body in answers} == {first, second}
        assert client.get("/similar/c9").status_code == 200

        # A corrupt snapshot named by CURRENT is refused; the served one stays.
        broken = root / "2026-11-03_broken000000"
        shutil.copytree(root / second, broken)
        with (broken / INDEX_FILE).open("r+b") as handle:
            handle.seek(-1, os.SEEK_END)
            last = handle.read(1)
            handle.seek(-1, os.SEEK_END)
            handle.write(bytes([last[0] ^ 0xFF]))
        (root / ".pointer").write_text(broken.name + "\n")
        os.replace(root / ".pointer", root / CURRENT_POINTER)
        wait_for(lambda: client.get("/healthz").json()["last_error"] is not None)
        health = client.get("/healthz").json()
        assert health["snapshot"] == second
        assert "checksum" in health["last_error"] and broken.name in health["last_error"]
        assert client.get("/similar/c1").status_code == 200
