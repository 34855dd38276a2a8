"""extract_keyframes on generated media: exact shots, bad media reasons, incremental reruns.

The lakehouse is built once for the module, and ``content`` is written straight from the
generated catalogue: ingesting it (ingest_catalog) and embedding the text of items with bad
media are covered end to end by tests/e2e/test_daily_pipeline.py (slow), on media of its own.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

import pytest
from chispa import assert_df_equality
from contentlake.jobs import extract_keyframes
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.sample_data import GOOD_ID_LIMIT, SampleSpec, catalog_path, generate
from contentlake.sample_media import FPS
from contentlake.tables import ensure_tables, table_version

# 10 media items: 5 good videos (one with a bad poster) and one bad video of each kind.
SPEC = SampleSpec(items=16, days=1, users=5, events_per_day=20, seed=3, media_items=10)
DAY = SPEC.start_date
CONTENT_COLUMNS = ("content_id", "content_type", "title", "genres", "poster_uri", "video_uri")


def landed_content(spark, landing):
    """The day's good catalogue records as ``content`` rows (what ingest_catalog keeps: one
    row per id, the latest ``updated_at``; the sample day also lands duplicate copies)."""
    latest = {}
    for line in catalog_path(landing, DAY).read_text().splitlines():
        try:
            record = json.loads(line)
            good = int(record["content_id"][1:]) < GOOD_ID_LIMIT
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        if good:
            updated = datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00"))
            values = {column: record.get(column) for column in CONTENT_COLUMNS}
            row = {**values, "updated_at": updated, "_ingest_date": DAY}
            if row["content_id"] not in latest or updated > latest[row["content_id"]]["updated_at"]:
                latest[row["content_id"]] = row
    rows = list(latest.values())
    schema = spark.table("content").schema
    return spark.createDataFrame([tuple(r.get(f.name) for f in schema) for r in rows], schema)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory, tiny_model):
    spark.sql("drop database if exists t_keyframes cascade")
    cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("keyframes"),
        overrides={"database": "t_keyframes", **tiny_model},
    )
    expected = generate(cfg.paths.landing, SPEC)["media"]
    ensure_tables(spark, cfg)
    spark.catalog.setCurrentDatabase(cfg.database)
    landed_content(spark, cfg.paths.landing).writeTo("content").append()
    result = extract_keyframes.run(spark, cfg, DAY)
    return cfg, expected, result


def test_keyframes_sit_in_the_middle_of_each_generated_shot(spark, lake):
    cfg, expected, _ = lake
    rows = []
    for content_id, video in expected["videos"].items():
        bounds = [*video["shot_starts"], video["frames"]]
        for shot, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
            middle = start + (end - start) // 2
            rows.append((content_id, "keyframe", shot, 0, middle, middle / FPS))
    for content_id in expected["posters"]:
        rows.append((content_id, "poster", -1, 0, None, None))
    columns = ["content_id", "kind", "shot_index", "keyframe_index", "frame_index"]
    actual_df = spark.table(f"{cfg.database}.content_keyframes").select(
        *columns, "timestamp_seconds"
    )
    expected_df = spark.createDataFrame(rows, actual_df.schema)
    assert len(expected["videos"]) == 5 and len(rows) > 14
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_every_bad_file_gets_its_reason_and_keeps_its_other_modalities(spark, lake):
    cfg, expected, result = lake
    status_df = spark.table(f"{cfg.database}.content_media_status")
    bad_df = status_df.filter(F.col("status") != "ok").select("content_id", "media_kind", "status")
    wanted = [(cid, "video", reason) for cid, reason in expected["bad_videos"].items()]
    wanted += [(cid, "poster", reason) for cid, reason in expected["bad_posters"].items()]
    assert_df_equality(
        bad_df,
        spark.createDataFrame(wanted, bad_df.schema),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert {reason for _, _, reason in wanted} == {
        "truncated",
        "empty_file",
        "not_a_video",
        "missing_file",
        "unsupported_codec",
        "not_an_image",
    }
    # Their posters (or videos) still gave keyframes (their text and fused vectors:
    # tests/e2e/test_daily_pipeline.py).
    kinds = {
        (r.content_id, r.kind) for r in spark.table(f"{cfg.database}.content_keyframes").collect()
    }
    for cid, media_kind, _ in wanted:
        other = "keyframe" if media_kind == "poster" else "poster"
        assert (cid, other) in kinds
    # Items with media in = items with keyframes + items with a reason.
    assert result.rows_in == 2 * SPEC.media_items
    assert result.rows_written + result.rows_quarantined == result.rows_in
    assert result.rows_quarantined == len(wanted)


def test_a_rerun_decodes_nothing_and_commits_nothing(spark, lake):
    cfg, _, _ = lake
    tables = ("content_keyframes", "content_media_status")
    spark.catalog.setCurrentDatabase(cfg.database)
    before = {t: table_version(spark, t) for t in tables}
    rerun = extract_keyframes.run(spark, cfg, DAY)
    assert {t: table_version(spark, t) for t in tables} == before
    assert (rerun.rows_in, rerun.rows_written, rerun.rows_quarantined) == (0, 0, 0)


def test_files_are_read_and_decoded_inside_python_workers(spark, lake):
    cfg, _, _ = lake
    pending_df = extract_keyframes.pending_media(
        spark,
        cfg,
        spark.table(f"{cfg.database}.content").transform(extract_keyframes.explode_media_inputs),
        spark.table(f"{cfg.database}.content_media_status").limit(0),
        "any-version",
    )
    plan = extract_keyframes.extract(spark, cfg, pending_df)._jdf.queryExecution()
    physical = plan.executedPlan().toString()
    # Both the stat and the decode are MapInPandas nodes: they run in executors' Python
    # workers, and the driver never holds a media byte.
    assert physical.count("MapInPandas") == 2


@pytest.mark.slow  # one more decode and two MERGEs; last here: it changes the module's lake
def test_a_changed_file_is_decoded_alone(spark, lake):
    cfg, expected, _ = lake
    spark.catalog.setCurrentDatabase(cfg.database)
    # The missing video arrives: a copy of a good one. Only that item is decoded again.
    missing = next(c for c, r in expected["bad_videos"].items() if r == "missing_file")
    good_id, good = next(iter(expected["videos"].items()))
    target = cfg.paths.landing / "media" / "video" / f"{missing}.mp4"
    target.write_bytes((cfg.paths.landing / good["uri"]).read_bytes())
    os.utime(target, ns=(1, 1))
    third = extract_keyframes.run(spark, cfg, DAY)
    assert (third.rows_in, third.rows_written) == (1, 1)
    keyframes = spark.table(f"{cfg.database}.content_keyframes")
    hashes = {
        cid: sorted(
            r.frame_hash
            for r in keyframes.filter(
                (F.col("content_id") == cid) & (F.col("kind") == "keyframe")
            ).collect()
        )
        for cid in (missing, good_id)
    }
    assert hashes[missing] == hashes[good_id] and hashes[missing]
    status = spark.table(f"{cfg.database}.content_media_status").filter(
        (F.col("content_id") == missing) & (F.col("media_kind") == "video")
    )
    assert [r.status for r in status.collect()] == ["ok"]
