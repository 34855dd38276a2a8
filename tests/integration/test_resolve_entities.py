"""resolve_entities on a small generated catalogue with planted duplicates: the planted
groups come out as entities, a rerun changes nothing, canonical ids hold the next day, and
a cluster above the size guard fails the run and leaves the day unwritten.

The text vectors are written here rather than embedded: copies of one work get its vector
plus a little noise (what a good text model gives a reworded copy), every other item a
random one, so the test judges the job, not a model.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import date

import pytest
from contentlake.jobs import build_features, ingest_catalog, ingest_events, publish_index
from contentlake.jobs import resolve_entities as job
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.content_hash import content_hash
from contentlake.dq.rules import DataQualityError
from contentlake.modality_versions import component_version
from contentlake.sample_data import SampleSpec, generate
from contentlake.sample_entities import load_entities_truth
from contentlake.tables import ensure_tables, table_version

DAY1, DAY2, DAY3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
SPEC = SampleSpec(
    items=40, days=2, users=20, events_per_day=300, seed=5, bad_share=0.0, duplicate_groups=6
)
TABLES = ("content_match_pairs", "content_entities", "entity_daily_features")
# Three upstream jobs and four runs of resolve_entities: past the default suite's budget.
pytestmark = pytest.mark.slow
DIM = 16


def unit_vector(seed: str, noise_of: str | None = None) -> list[float]:
    def draw(label: str) -> list[float]:
        rng = random.Random(hashlib.sha256(label.encode()).digest())
        return [rng.gauss(0, 1) for _ in range(DIM)]

    vector = draw(seed)
    if noise_of is not None:
        vector = [x + 0.1 * n for x, n in zip(vector, draw(noise_of), strict=True)]
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def add_text_vectors(spark, cfg, truth, day: date) -> None:
    """A vector for every content item that has none yet."""
    original_of = {copy: g["original"] for g in truth["groups"] for copy in g["copies"]}
    have = {r.content_id for r in spark.table("content_embeddings").select("content_id").collect()}
    version = component_version(cfg, "text")
    rows = [
        (cid, "text", "synthetic", version, DIM, f"h{cid}",
         unit_vector(original_of.get(cid, cid), cid if cid in original_of else None), day)
        for cid in sorted(r.content_id for r in spark.table("content").collect())
        if cid not in have
    ]  # fmt: skip
    schema = spark.table("content_embeddings").schema
    spark.createDataFrame(rows, schema).writeTo("content_embeddings").append()


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("entities")
    cfg = load_config(
        profile="local", root=root, overrides={"database": "t_resolve_entities", **tiny_model}
    )
    generate(cfg.paths.landing, SPEC)
    spark.sql(f"drop database if exists {cfg.database} cascade")
    ensure_tables(spark, cfg)
    truth = load_entities_truth(cfg.paths.landing)
    assert max(len(g["ids"]) for g in truth["groups"]) >= 3  # the size guard test needs one
    for run in (ingest_catalog, ingest_events, build_features):
        run.run(spark, cfg, DAY1, "day1")
    add_text_vectors(spark, cfg, truth, DAY1)
    job.run(spark, cfg, DAY1, "day1")
    return cfg, truth


def entities(spark, day: date) -> dict[str, str]:
    rows = spark.table("content_entities").filter(F.col("resolved_date") == F.lit(day)).collect()
    return {row.content_id: row.canonical_id for row in rows}


def clusters(mapping: dict[str, str]) -> set[tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for content_id, canonical_id in mapping.items():
        found.setdefault(canonical_id, []).append(content_id)
    return {tuple(sorted(ids)) for ids in found.values() if len(ids) > 1}


def test_the_planted_groups_are_the_entities_and_hard_negatives_stay_apart(spark, lake):
    cfg, truth = lake
    mapping = entities(spark, DAY1)
    assert set(mapping) == {r.content_id for r in spark.table("content").collect()}
    assert clusters(mapping) == {tuple(g["ids"]) for g in truth["groups"]}
    for group in truth["groups"]:  # first run: the smallest id of each group
        assert {mapping[i] for i in group["ids"]} == {min(group["ids"])}
    for negative in truth["hard_negatives"]:
        first, second = negative["ids"]
        assert mapping[first] != mapping[second], negative
    # every scored pair of a hard negative kept its evidence and a distinct decision
    pairs = {
        (r.left_id, r.right_id): r
        for r in spark.table("content_match_pairs").filter(F.col("resolved_date") == DAY1).collect()
    }
    for negative in truth["hard_negatives"]:
        pair = pairs.get(tuple(negative["ids"]))
        if pair is not None:
            assert pair.decision != "match", (negative, pair)
    run = spark.table("job_runs").filter("job = 'resolve_entities'").collect()
    assert [(r.status, r.rows_in, r.rows_written) for r in run] == [
        ("succeeded", len(mapping), len(mapping))
    ]
    copies = sum(len(g["copies"]) for g in truth["groups"])
    assert run[0].details["duplicates"] == str(copies)
    checks = spark.table("dq_results").filter(
        F.col("table_name").isin(*TABLES) & (F.col("run_date") == DAY1)
    )
    assert checks.filter("status = 'fail'").count() == 0
    assert checks.select("table_name").distinct().count() == 3
    # the works' plays add up to the items' plays, and each work has its members
    works = spark.table("entity_daily_features").filter(F.col("feature_date") == DAY1)
    items = spark.table("content_daily_features").filter(F.col("feature_date") == DAY1)
    assert works.agg(F.sum("views_28d")).first()[0] == items.agg(F.sum("views_28d")).first()[0]
    assert works.count() == len(set(mapping.values()))
    members = {r.canonical_id: r.members for r in works.collect()}
    assert all(members[min(g["ids"])] == len(g["ids"]) for g in truth["groups"])


def test_a_rerun_of_the_date_changes_no_table(spark, lake):
    cfg, _ = lake
    before = {table: content_hash(spark.table(table)) for table in TABLES}
    job.run(spark, cfg, DAY1, "day1-again")
    assert {table: content_hash(spark.table(table)) for table in TABLES} == before
    runs = spark.table("job_runs").filter("job = 'resolve_entities'").collect()
    assert [(r.run_date, r.status, r.rows_in) for r in runs] == [
        (DAY1, "succeeded", len(entities(spark, DAY1)))
    ]


def test_canonical_ids_hold_the_next_day_and_the_index_serves_one_vector_per_work(spark, lake):
    cfg, truth = lake
    ingest_catalog.run(spark, cfg, DAY2, "day2")
    add_text_vectors(spark, cfg, truth, DAY2)
    job.run(spark, cfg, DAY2, "day2")
    day1, day2 = entities(spark, DAY1), entities(spark, DAY2)
    assert len(day2) > len(day1)  # the day's new items
    assert {cid: day2[cid] for cid in day1} == day1
    rules = {
        r.canonical_rule
        for r in spark.table("content_entities")
        .filter((F.col("resolved_date") == DAY2) & (F.col("cluster_size") > 1))
        .collect()
    }
    assert rules == {"kept_previous"}
    one_per_entity = load_config(
        profile="local",
        root=cfg.paths.root,
        overrides={
            "database": cfg.database,
            "index": {"one_per_entity": True, "modality": "text"},
        },
    )
    tables = ("content_embeddings", "content", "content_entities")
    versions = {table: table_version(spark, table) for table in tables}
    served = publish_index.indexed_items(
        spark, one_per_entity, component_version(cfg, "text"), versions, DAY2
    )
    assert sorted(r.content_id for r in served.collect()) == sorted(set(day2.values()))


def test_a_cluster_above_the_size_guard_fails_the_run_and_leaves_the_day_unwritten(
    spark, lake, tiny_model
):
    cfg, _ = lake
    guarded = load_config(
        profile="local",
        root=cfg.paths.root,
        overrides={
            **tiny_model,
            "database": cfg.database,
            "entities": {"max_cluster_size": 2, "review_cluster_size": 2},
        },
    )
    with pytest.raises(DataQualityError, match="cluster_within_size_guard"):
        job.run(spark, guarded, DAY3, "day3")
    assert entities(spark, DAY3) == {}
    run = spark.table("job_runs").filter(
        (F.col("job") == "resolve_entities") & (F.col("run_date") == DAY3)
    )
    assert [r.status for r in run.collect()] == ["failed"]
