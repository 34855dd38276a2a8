"""The Change Data Feed path of embed_content selects what the input-hash join selects.

One lakehouse for the module (an embed run costs most of the time): the first test only
reads it, the second embeds and then switches the feed off, so it comes last.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from chispa import assert_df_equality
from contentlake.jobs import embed_content
from contentlake.jobs.embed_content import pending_items
from contentlake.udfs.text_embedding import model_fingerprint
from delta.tables import DeltaTable

from contentlake.config import load_config
from contentlake.tables import ensure_tables, table_version

# Several embed runs over their own lakehouse: the slow suite (the default suite's
# pipeline tests take the input-hash path, the default).
pytestmark = pytest.mark.slow

DAY = date(2026, 11, 1)


def content_row(content_id: str, title: str, duration: int, updated: str) -> tuple:
    return (
        content_id,
        "movie",
        title,
        f"About {title.lower()}.",
        ["drama"],
        ["sea"],
        "en",
        duration,
        date(2020, 1, 1),
        datetime.fromisoformat(updated),
        None,  # series_id
        None,  # poster_uri
        None,  # video_uri
        DAY,
    )


def merge_content(spark, rows: list[tuple]) -> None:
    updates_df = spark.createDataFrame(rows, spark.table("content").schema)
    (
        DeltaTable.forName(spark, "content")
        .alias("t")
        .merge(updates_df.alias("s"), "t.content_id = s.content_id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


@pytest.fixture(scope="module")
def embedded(spark, tmp_path_factory, tiny_model):
    """Three items embedded by the job, then a title edit (c000001), a duration-only edit
    whose text is unchanged (c000002) and a new item (c000004)."""
    spark.sql("drop database if exists t_embedding_changes cascade")
    lake_cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("changes"),
        overrides={
            "database": "t_embedding_changes",
            # The configured default is input_hash (measured cheaper at small scale).
            "embedding": {**tiny_model["embedding"], "change_source": "auto"},
        },
    )
    ensure_tables(spark, lake_cfg)
    merge_content(
        spark,
        [
            content_row("c000001", "Storm at sea", 100, "2026-11-01T01:00:00"),
            content_row("c000002", "Quiet harbour", 200, "2026-11-01T01:00:00"),
            content_row("c000003", "Night train", 300, "2026-11-01T01:00:00"),
        ],
    )
    first = embed_content.run(spark, lake_cfg, DAY, "changes__1")
    assert (first.rows_written, first.details["change_source"]) == (3, "input_hash")
    merge_content(
        spark,
        [
            content_row("c000001", "Storm at sea, again", 100, "2026-11-02T01:00:00"),
            content_row("c000002", "Quiet harbour", 250, "2026-11-02T01:00:00"),
            content_row("c000004", "Mountain pass", 400, "2026-11-02T01:00:00"),
        ],
    )
    return (
        lake_cfg,
        model_fingerprint(lake_cfg.embedding.model),
        int(first.details["content_version"]),
    )


def pending(spark, cfg, model_version: str, setting: str):
    pending_df, source = pending_items(
        spark, cfg, model_version, table_version(spark, "content"), setting
    )
    return pending_df.orderBy("content_id"), source


def test_cdf_and_hash_join_pick_the_same_items_or_hash_for_a_new_model(spark, embedded):
    cfg, model_version, embedded_version = embedded
    hash_df, hash_source = pending(spark, cfg, model_version, "input_hash")
    cdf_df, cdf_source = pending(spark, cfg, model_version, "cdf")

    assert hash_source.kind == "input_hash"
    assert (cdf_source.kind, cdf_source.start_version, cdf_source.end_version) == (
        "cdf",
        embedded_version + 1,
        embedded_version + 1,
    )
    # The duration-only edit changes no text: neither path re-embeds c000002.
    assert [row.content_id for row in hash_df.collect()] == ["c000001", "c000004"]
    # The feed's rows come out of an aggregation: only nullability differs.
    assert_df_equality(cdf_df, hash_df, ignore_row_order=True, ignore_nullable=True)

    _, source = pending(spark, cfg, "another-model", "auto")
    assert (source.kind, source.reason) == ("input_hash", "model version changed")


def test_the_job_takes_the_feed_then_hashes_when_the_feed_has_a_gap(spark, embedded):
    cfg, model_version, embedded_version = embedded
    second = embed_content.run(spark, cfg, DAY, "changes__2")
    assert (second.rows_written, second.details["change_source"]) == (2, "cdf")
    assert second.details["content_version"] == str(embedded_version + 1)
    third = embed_content.run(spark, cfg, DAY, "changes__3")
    # Nothing changed since: an empty range of the feed, nothing embedded.
    assert (third.rows_written, third.details["change_source"]) == (0, "cdf")

    # The feed switched off for a while: its range cannot be read, so every item is hashed.
    spark.sql("alter table content set tblproperties ('delta.enableChangeDataFeed' = 'false')")
    merge_content(spark, [content_row("c000003", "Night train home", 300, "2026-11-03T01:00:00")])
    spark.sql("alter table content set tblproperties ('delta.enableChangeDataFeed' = 'true')")
    fallback_df, source = pending(spark, cfg, model_version, "auto")
    assert (source.kind, source.reason) == ("input_hash", "change data feed unreadable")
    hash_df, _ = pending(spark, cfg, model_version, "input_hash")
    assert [row.content_id for row in fallback_df.collect()] == ["c000003"]
    assert_df_equality(fallback_df, hash_df, ignore_row_order=True)
