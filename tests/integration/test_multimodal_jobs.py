"""The visual, behaviour and fused vectors through their jobs, into a fused snapshot."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from chispa import assert_df_equality
from contentlake.jobs import (
    embed_behaviour,
    embed_content,
    embed_media,
    fuse_vectors,
    publish_index,
)
from PIL import Image
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.index_snapshot import load_snapshot
from contentlake.tables import ensure_tables, table_version

pytestmark = pytest.mark.slow  # five jobs and an ALS fit: about a minute and a half

DAY = date(2026, 11, 3)
GENRES = ("drama", "comedy", "horror")
COLOURS = {"drama": (200, 30, 30), "comedy": (240, 220, 40), "horror": (20, 20, 60)}
ITEMS = [f"c{i:02d}" for i in range(1, 13)]  # c01..c12, genre by index
NO_KEYFRAMES = "c12"
ONE_VIEWER = "c11"


def genre_of(content_id: str) -> str:
    return GENRES[int(content_id[1:]) % 3]


def frame(colour: tuple[int, int, int], shade: int) -> bytes:
    pixels = np.zeros((24, 32, 3), dtype=np.uint8)
    pixels[:, : 8 + 4 * shade] = colour
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def keyframe_rows(content_id: str, shades: range, extracted: date) -> list[dict]:
    rows = []
    for shot in shades:
        image = frame(COLOURS[genre_of(content_id)], shot)
        rows.append(
            {
                "content_id": content_id,
                "kind": "keyframe",
                "shot_index": shot,
                "keyframe_index": 0,
                "frame_hash": f"{content_id}-{genre_of(content_id)}-{shot}",
                "image": image,
                "image_format": "png",
                "width": 32,
                "height": 24,
                "source_uri": f"media/{content_id}.mp4",
                "media_input_hash": f"m-{content_id}",
                "detector_version": "d1",
                "extracted_date": extracted,
            }
        )
    return rows


def table_rows(spark, table: str, rows: list[dict]):
    schema = spark.table(table).schema
    return spark.createDataFrame([tuple(r.get(f.name) for f in schema) for r in rows], schema)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory, tiny_model):
    spark.sql("drop database if exists t_multimodal cascade")
    cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("multimodal"),
        overrides={
            "database": "t_multimodal",
            **tiny_model,
            "index": {"factory": "Flat"},
            "behaviour": {"min_users": 3, "rank": 4, "max_iter": 3, "blocks": 2},
        },
    )
    ensure_tables(spark, cfg)
    content = [
        {
            "content_id": cid,
            "content_type": "movie",
            "title": f"{genre_of(cid)} film {cid}",
            "genres": [genre_of(cid)],
            "duration_seconds": 100,
            "updated_at": datetime(2026, 11, 1),
            "_ingest_date": date(2026, 11, 1),
        }
        for cid in ITEMS
    ]
    table_rows(spark, "content", content).writeTo("content").append()
    frames = [r for cid in ITEMS if cid != NO_KEYFRAMES for r in keyframe_rows(cid, range(2), DAY)]
    table_rows(spark, "content_keyframes", frames).writeTo("content_keyframes").append()
    # Nine users, three per genre, each watching every item of their genre but c11,
    # which one user of another genre plays.
    events = []
    for u in range(9):
        genre = GENRES[u % 3]
        watched = [cid for cid in ITEMS if genre_of(cid) == genre and cid != ONE_VIEWER]
        if u == 0:
            watched.append(ONE_VIEWER)
        for n, cid in enumerate(watched):
            for event_type, seconds in (("play", None), ("complete", 90.0)):
                events.append(
                    {
                        "event_id": f"e{u}-{cid}-{event_type}",
                        "user_id": f"u{u}",
                        "content_id": cid,
                        "event_type": event_type,
                        "event_ts": datetime(2026, 11, 2, 10, n),
                        "event_date": DAY - timedelta(days=1),
                        "watch_seconds": seconds,
                        "device": "tv",
                        "_ingest_date": DAY - timedelta(days=1),
                    }
                )
    table_rows(spark, "events", events).writeTo("events").append()
    spark.sql("use t_multimodal")
    return cfg


@pytest.fixture(scope="module")
def published(spark, lake):
    results = {}
    for job in (embed_content, embed_media, embed_behaviour, fuse_vectors, publish_index):
        results[job.JOB] = job.run(spark, lake, DAY, f"first__{job.JOB}")
    for job in (embed_media, embed_behaviour, fuse_vectors):
        results[f"rerun {job.JOB}"] = job.run(spark, lake, DAY, f"rerun__{job.JOB}")
    return results


def vectors(spark, modality: str) -> dict[str, np.ndarray]:
    rows = spark.table("content_embeddings").filter(F.col("modality") == modality).collect()
    return {row["content_id"]: np.array(row["embedding"]) for row in rows}


def test_each_item_with_keyframes_gets_one_unit_visual_vector_and_a_rerun_embeds_nothing(
    spark, published
):
    visual = vectors(spark, "visual")

    assert sorted(visual) == [cid for cid in ITEMS if cid != NO_KEYFRAMES]
    np.testing.assert_allclose([np.linalg.norm(v) for v in visual.values()], 1, atol=1e-6)
    assert published["embed_media"].rows_in == 22  # 11 items x 2 frames
    assert published["rerun embed_media"].rows_written == 0


def test_behaviour_vectors_only_for_items_with_enough_viewers_and_a_rerun_fits_nothing(
    spark, published
):
    behaviour = vectors(spark, "behaviour")

    assert sorted(behaviour) == [cid for cid in ITEMS if cid != ONE_VIEWER]
    assert published["rerun embed_behaviour"].details["fitted"] == "False"
    same_genre = behaviour["c03"] @ behaviour["c06"]
    other_genre = behaviour["c03"] @ behaviour["c04"]
    assert same_genre > other_genre


def test_two_als_fits_of_the_same_ratings_are_equal(spark, lake):
    versions = {table: table_version(spark, table) for table in ("events", "content")}
    ratings_df = embed_behaviour.window_ratings(spark, lake.behaviour, DAY, versions)

    first = embed_behaviour.item_vectors(ratings_df, lake.behaviour).orderBy("content_id")
    second = embed_behaviour.item_vectors(ratings_df, lake.behaviour).orderBy("content_id")

    assert_df_equality(first, second)


def test_fused_vectors_record_their_modalities_and_fill_the_missing_ones(spark, published):
    sources = {row["content_id"]: row for row in spark.table("content_fused_sources").collect()}

    assert sorted(sources) == ITEMS
    assert sources[NO_KEYFRAMES]["imputed"] == ["visual"]
    assert sources[ONE_VIEWER]["imputed"] == ["behaviour"]
    assert sources["c01"]["modalities"] == ["text", "visual", "behaviour"]
    assert set(sources["c01"]["modality_versions"]) == {"text", "visual", "behaviour"}
    assert published["rerun fuse_vectors"].rows_written == 0
    fused = vectors(spark, "fused")
    np.testing.assert_allclose([np.linalg.norm(v) for v in fused.values()], 1, atol=1e-6)


def test_publish_index_serves_the_fused_vectors_of_one_version(spark, lake, published):
    snapshot = load_snapshot(lake.paths.snapshots)
    manifest = snapshot.manifest

    assert manifest["model"]["modality"] == "fused"
    assert manifest["model"]["version"] == published["fuse_vectors"].details["model_version"]
    assert sorted(snapshot.ids) == ITEMS
    gate = next(g for g in manifest["gates"] if g["gate"] == "one_model_version")
    assert gate["passed"]
    assert "fused/behaviour=" in gate["detail"] and "fused/visual=" in gate["detail"]


def test_new_keyframes_of_one_item_re_embed_and_re_fuse_that_item_only(spark, lake, published):
    before = vectors(spark, "fused")
    changed = keyframe_rows("c02", range(3, 5), DAY + timedelta(days=1))
    table_rows(spark, "content_keyframes", changed).writeTo("content_keyframes").append()

    media = embed_media.run(spark, lake, DAY + timedelta(days=1), "change__embed_media")
    fused = fuse_vectors.run(spark, lake, DAY + timedelta(days=1), "change__fuse_vectors")

    assert (media.rows_written, media.rows_in) == (1, 2)
    after = vectors(spark, "fused")
    moved = {cid for cid in before if not np.array_equal(before[cid], after[cid])}
    # c12's visual block is filled from drama, c02 is horror: only c02 moves.
    assert moved == {"c02"}
    assert fused.rows_written == 1
