"""Rolling back serving also rolls back the vectors the next night starts from."""

import json
from datetime import date, datetime, timedelta, timezone

import numpy as np
from chispa import assert_df_equality
from pyspark.sql import functions as F

from contentlake.index_snapshot import current_snapshot_name, publish_snapshot, read_manifest
from contentlake.snapshots import (
    keep_snapshot_versions_reachable,
    restore_embeddings,
    retention_days_for,
    rollback,
)
from contentlake.tables import table_version

SCHEMA = (
    "content_id string, modality string, model_name string, model_version string, dim int, "
    "input_hash string, embedding array<float>, embedded_date date"
)


def embeddings_rows(seed, run_date):
    vectors = np.random.default_rng(seed).normal(size=(4, 3)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        (f"c{i}", "text", "m", "v1", 3, f"h{seed}{i}", vector.tolist(), run_date)
        for i, vector in enumerate(vectors)
    ], vectors


def publish_day(spark, cfg, day, seed):
    run_date = date(2026, 11, day)
    rows, vectors = embeddings_rows(seed, run_date)
    spark.createDataFrame(rows, SCHEMA).writeTo("content_embeddings").overwrite(F.lit(True))
    version = table_version(spark, "content_embeddings")
    ids = [row[0] for row in rows]
    return publish_snapshot(
        cfg.paths.snapshots,
        run_date,
        ids,
        vectors,
        f"{seed:064d}",
        "Flat",
        "inner_product",
        {"source_tables": {f"{cfg.database}.content_embeddings": {"version": version}}},
    ).name


def test_rollback_with_restore_tables_puts_the_served_vectors_back(spark, lake_cfg):
    spark.sql(f"use {lake_cfg.database}")
    first = publish_day(spark, lake_cfg, 1, seed=1)
    first_df = spark.table("content_embeddings")
    expected_df = spark.createDataFrame(first_df.collect(), first_df.schema)
    publish_day(spark, lake_cfg, 2, seed=2)

    assert rollback(lake_cfg.paths.snapshots) == first
    version = restore_embeddings(spark, lake_cfg, first)

    assert current_snapshot_name(lake_cfg.paths.snapshots) == first
    manifest = read_manifest(lake_cfg.paths.snapshots / first)
    assert (
        version == manifest["source_tables"][f"{lake_cfg.database}.content_embeddings"]["version"]
    )
    assert_df_equality(spark.table("content_embeddings"), expected_df, ignore_row_order=True)


def test_retention_covers_the_oldest_kept_snapshot(spark, lake_cfg, tmp_path):
    spark.sql(f"use {lake_cfg.database}")
    first = publish_day(spark, lake_cfg, 1, seed=1)
    # The oldest snapshot on disk was built 40 days ago: 47 days of history keep it restorable
    # (an hour less than 40 days, so the test never straddles a day boundary).
    manifest_path = lake_cfg.paths.snapshots / first / "manifest.json"
    manifest = read_manifest(lake_cfg.paths.snapshots / first)
    built = datetime.now(timezone.utc) - timedelta(days=40) + timedelta(hours=1)
    manifest["created_at"] = built.isoformat()
    manifest_path.write_text(json.dumps(manifest))

    assert retention_days_for(lake_cfg.paths.snapshots, datetime.now(timezone.utc)) == 47
    assert keep_snapshot_versions_reachable(spark, lake_cfg) == 47
    properties = {
        r.key: r.value for r in spark.sql("show tblproperties content_embeddings").collect()
    }
    assert properties["delta.deletedFileRetentionDuration"] == "interval 47 days"
    assert properties["delta.logRetentionDuration"] == "interval 47 days"
    assert keep_snapshot_versions_reachable(spark, lake_cfg) is None  # enough already: no commit
