"""Changing the embedding model: the new model's snapshot serves only once it is as good."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest
from contentlake.jobs import embed_content, publish_index
from contentlake.udfs.text_embedding import model_fingerprint

from contentlake.config import load_config
from contentlake.errors import JobFailed
from contentlake.index_snapshot import REFUSED_FILE, current_snapshot_name, load_snapshot

GENRES = ("drama", "comedy", "horror", "documentary")
PER_GENRE, DIM = 10, 8
EMBEDDINGS = (
    "content_id string, modality string, model_name string, model_version string, dim int, "
    "input_hash string, embedding array<float>, embedded_date date"
)


def vectors_for(version: str, seed: int, by_genre: bool) -> list[tuple]:
    """One unit vector per item: tight genre clusters, or (``by_genre`` False) noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(GENRES), DIM))
    rows = []
    for g in range(len(GENRES)):
        for i in range(PER_GENRE):
            vector = centres[g] + 0.01 * rng.normal(size=DIM) if by_genre else rng.normal(size=DIM)
            vector /= np.linalg.norm(vector)
            content_id = f"c{g}{i}"
            rows.append(
                (content_id, "text", "m", version, DIM, f"h{content_id}", vector.tolist(), None)
            )
    return rows


@pytest.fixture
def catalogue(spark, lake_cfg):
    spark.sql(f"use {lake_cfg.database}")
    content_rows = [
        (f"c{g}{i}", "movie", f"title {g}{i}", None, [genre], None, "en", 60, None,
         datetime(2026, 11, 1), None, None, None, date(2026, 11, 1))
        for g, genre in enumerate(GENRES)
        for i in range(PER_GENRE)
    ]  # fmt: skip
    spark.createDataFrame(content_rows, spark.table("content").schema).writeTo("content").append()
    return lake_cfg


def with_model(cfg, version: str):
    return load_config(
        profile="local",
        root=cfg.paths.root,
        overrides={
            "database": cfg.database,
            "embedding": {"model": "any", "model_version": version},
            # Text model versions are what this suite migrates between.
            "index": {"factory": "Flat", "modality": "text"},
        },
    )


def embed(spark, rows, run_date):
    rows = [(*row[:-1], run_date) for row in rows]
    spark.createDataFrame(rows, EMBEDDINGS).writeTo("content_embeddings").append()


def test_a_worse_model_is_refused_and_a_model_as_good_is_promoted(spark, catalogue):
    embed(spark, vectors_for("v-old", 1, by_genre=True), date(2026, 11, 1))
    publish_index.run(spark, with_model(catalogue, "v-old"), date(2026, 11, 1))
    served = current_snapshot_name(catalogue.paths.snapshots)

    # The new model's vectors go beside the old ones; its neighbours ignore genre.
    embed(spark, vectors_for("v-new", 2, by_genre=False), date(2026, 11, 2))
    with pytest.raises(JobFailed, match="model_migration"):
        publish_index.run(spark, with_model(catalogue, "v-new"), date(2026, 11, 2))

    assert current_snapshot_name(catalogue.paths.snapshots) == served
    refused = next(p for p in catalogue.paths.snapshots.glob("2026-11-02_*"))
    assert (refused / REFUSED_FILE).is_file()
    migration = load_snapshot(catalogue.paths.snapshots, refused.name, verify=False).manifest[
        "model_migration"
    ]
    assert (migration["from"], migration["to"], migration["queries"]) == ("v-old", "v-new", 40)
    # Tight clusters of 10: each item's 10 neighbours are the 9 others of its genre and one
    # nearest item of another genre.
    assert migration["genre_precision@10"]["served"] == pytest.approx(0.9)
    assert migration["genre_precision@10"]["staged"] < 0.9 - 0.02

    # A third model whose neighbours keep to genres as well as the old one's.
    embed(spark, vectors_for("v-good", 3, by_genre=True), date(2026, 11, 3))
    publish_index.run(spark, with_model(catalogue, "v-good"), date(2026, 11, 3))

    snapshot = load_snapshot(catalogue.paths.snapshots)
    assert snapshot.manifest["model"]["version"] == "v-good"
    assert snapshot.index.ntotal == len(GENRES) * PER_GENRE
    gates = {gate["gate"]: gate for gate in snapshot.manifest["gates"]}
    assert gates["one_model_version"]["detail"] == "text=v-good"
    assert gates["model_migration"]["passed"]
    assert snapshot.manifest["model_migration"]["from"] == "v-old"
    assert snapshot.manifest["model_migration"]["genre_precision@10"] == {
        "staged": pytest.approx(0.9),
        "served": pytest.approx(0.9),
    }


@pytest.mark.slow  # embeds twice with real (tiny) transformer models
def test_two_real_models_embed_beside_each_other_and_one_serves(
    spark, catalogue, tiny_model_path, second_tiny_model_path
):
    def config(model):
        return load_config(
            profile="local",
            root=catalogue.paths.root,
            overrides={
                "database": catalogue.database,
                "embedding": {"model": model},
                "index": {"modality": "text"},
            },
        )

    old, new = config(tiny_model_path), config(second_tiny_model_path)
    embed_content.run(spark, old, date(2026, 11, 1))
    publish_index.run(spark, old, date(2026, 11, 1))
    served = current_snapshot_name(catalogue.paths.snapshots)

    embed_content.run(spark, new, date(2026, 11, 2))
    try:
        publish_index.run(spark, new, date(2026, 11, 2))
        refused = None
    except JobFailed as failed:
        refused = str(failed)

    versions = {
        model: model_fingerprint(model) for model in (tiny_model_path, second_tiny_model_path)
    }
    stored = spark.table("content_embeddings").groupBy("model_version").count().collect()
    assert {row.model_version: row["count"] for row in stored} == {
        version: len(GENRES) * PER_GENRE for version in versions.values()
    }
    staged = next(catalogue.paths.snapshots.glob("2026-11-02_*"))
    manifest = load_snapshot(catalogue.paths.snapshots, staged.name, verify=False).manifest
    migration = manifest["model_migration"]
    assert (migration["from"], migration["to"]) == tuple(versions.values())
    precision = migration["genre_precision@10"]
    tolerance = new.index.gates.evaluation_tolerance
    # The decision follows the figures recorded beside it, and whatever it was, the index
    # served holds one model's vectors only.
    assert (refused is not None) == (precision["staged"] < precision["served"] - tolerance)
    current = load_snapshot(catalogue.paths.snapshots)
    assert current.path.name == (served if refused else staged.name)
    expected_version = versions[tiny_model_path] if refused else versions[second_tiny_model_path]
    assert current.manifest["model"]["version"] == expected_version
    assert current.index.ntotal == len(GENRES) * PER_GENRE
