"""Resolve the catalogue's duplicates to one canonical id per work (docs/entities.md).

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/resolve_entities.py --run-date 2026-11-01

Reads ``content`` and the ``entities.modality`` vectors of ``content_embeddings`` (their
current model version); proposes candidate pairs by blocking keys and LSH bands
(``contentlake/transforms/entity_resolution.py``), scores each by the rules of
``entities.rules``, clusters the matches (label propagation), guards the clusters (mixed
content types split, large ones flagged, above ``entities.max_cluster_size`` the run fails)
and picks each cluster's canonical id, keeping the one of the previous run date's entities.

Writes, each for the run date (``resolved_date``) in one overwrite of its own rows, so a
rerun of a date writes the same rows again:

* ``content_match_pairs``: every scored pair with its features, score, decision and rule;
* ``content_entities``: every content id -> its canonical id, the rules that chose it;
* ``entity_daily_features``: the day's behaviour features per canonical id (events of
  every member counted once for their work).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.entity_settings import EntitySettings
from contentlake.entity_tables import entities_as_of
from contentlake.errors import JobFailed
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.modality_versions import indexed_model_version
from contentlake.observability import timed_stage
from contentlake.tables import table_version
from contentlake.transforms.entity_resolution import (
    PAIR_FEATURES,
    blocking_keys,
    candidate_pairs,
    connected_components,
    lsh_band_keys,
    pair_features,
    resolved_entities,
    strongest_match_rule,
    with_canonical_id,
    with_match_decision,
    with_normalised_title,
    with_synopsis_words,
)
from contentlake.transforms.features import FEATURE_COLUMNS, daily_features_of_timed_events

JOB = "resolve_entities"
PAIR_COLUMNS = (
    "resolved_date",
    "left_id",
    "right_id",
    "sources",
    *PAIR_FEATURES,
    "score",
    "decision",
    "rule",
)
ENTITY_FEATURE_COLUMNS = ("canonical_id", "members", *FEATURE_COLUMNS[1:])
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        settings = cfg.entities
        versions = {t: table_version(spark, t) for t in ("content", "content_embeddings")}
        model_version = indexed_model_version(
            spark, cfg, settings.modality, versions["content_embeddings"]
        )
        items_df = catalogue_items(spark, settings.modality, model_version, versions)
        items_df = items_df.persist(StorageLevel.MEMORY_AND_DISK)
        resolution = None
        try:
            resolution = resolve(
                items_df, previous_entities(spark, run_date), settings, run_date, logger
            )
            counts = resolution.counts()
            if counts["items"] == 0:
                raise JobFailed("the catalogue is empty: run ingest_catalog first")
            with (
                timed_stage(logger, "write and check the entity tables"),
                job.gate_together(),
            ):
                owned = "resolved_date = {run_date}"
                job.gated_write(
                    "content_match_pairs",
                    lambda: (
                        resolution.pairs_df.select(*PAIR_COLUMNS)
                        .writeTo("content_match_pairs")
                        .overwrite(F.col("resolved_date") == F.lit(run_date))
                    ),
                    owned_rows=owned,
                )
                job.gated_write(
                    "content_entities",
                    lambda: resolution.entities_df.writeTo("content_entities").overwrite(
                        F.col("resolved_date") == F.lit(run_date)
                    ),
                    owned_rows=owned,
                )
                features_df = entity_daily_features(
                    spark.table("events"),
                    items_df,
                    spark.table("content_entities").filter(
                        F.col("resolved_date") == F.lit(run_date)
                    ),
                    run_date,
                )
                job.gated_write(
                    "entity_daily_features",
                    lambda: features_df.writeTo("entity_daily_features").overwrite(
                        F.col("feature_date") == F.lit(run_date)
                    ),
                    owned_rows="feature_date = {run_date}",
                )
        finally:
            if resolution is not None:
                resolution.release()
            items_df.unpersist()
        logger.info("resolved %s", counts)
        return job.finish(
            rows_in=counts["items"],
            rows_written=counts["items"],
            details={"modality": settings.modality, "model_version": model_version, **counts},
        )


def catalogue_items(
    spark: SparkSession, modality: str, model_version: str, versions: dict[str, int]
) -> DataFrame:
    """Every catalogue item with its vector of ``modality`` (null where it has none)."""
    vectors_df = (
        spark.read.option("versionAsOf", versions["content_embeddings"])
        .table("content_embeddings")
        .filter((F.col("modality") == modality) & (F.col("model_version") == model_version))
        .select("content_id", "embedding")
    )
    content_df = spark.read.option("versionAsOf", versions["content"]).table("content")
    return content_df.select(
        "content_id",
        "content_type",
        "title",
        "description",
        "duration_seconds",
        "release_date",
        "series_id",
        "video_uri",
    ).join(vectors_df, on="content_id", how="left")


def previous_entities(spark: SparkSession, run_date: date) -> DataFrame:
    """content_entities of the last run date before ``run_date`` (empty on the first)."""
    previous_df = entities_as_of(spark, run_date, before=True)
    if previous_df is None:
        return spark.createDataFrame([], "content_id string, canonical_id string")
    return previous_df


@dataclass
class Resolution:
    """What :func:`resolve` found: scored pairs and entities (persisted), with counts."""

    keys: int
    candidates: int
    pairs_df: DataFrame
    entities_df: DataFrame
    # Seconds of each step: blocking, pairs (candidates, features, decisions), clusters.
    seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        decisions = {
            row["decision"]: row["count"]
            for row in self.pairs_df.groupBy("decision").count().collect()
        }
        entities = self.entities_df.agg(
            F.count("*").alias("items"),
            F.countDistinct("canonical_id").alias("entities"),
            F.count_if(F.col("review")).alias("review_items"),
            F.max("cluster_size").alias("largest_cluster"),
        ).first()
        return {
            "items": entities["items"],
            "entities": entities["entities"],
            "duplicates": entities["items"] - entities["entities"],
            "review_items": entities["review_items"],
            "largest_cluster": entities["largest_cluster"] or 0,
            "blocking_keys": self.keys,
            "candidate_pairs": self.candidates,
            **{f"pairs_{d}": decisions.get(d, 0) for d in ("match", "review", "distinct")},
        }

    def release(self) -> None:
        self.pairs_df.unpersist()
        self.entities_df.unpersist()


def resolve(
    items_df: DataFrame,
    previous_df: DataFrame,
    settings: EntitySettings,
    run_date: date,
    log: logging.Logger = logger,
) -> Resolution:
    """Candidates, scored pairs, clusters and canonical ids of ``items_df`` (content rows
    with ``embedding``); ``previous_df`` (content_id, canonical_id) keeps canonical ids."""
    seconds: dict[str, float] = {}

    @contextmanager
    def step(name: str, description: str) -> Iterator[None]:
        started = time.perf_counter()
        with timed_stage(log, description):
            yield
        seconds[name] = time.perf_counter() - started

    with step("blocking", "normalise titles and block"):
        normalised_df = (
            items_df.transform(
                with_normalised_title, settings.title_noise_words, settings.title_articles
            )
            .transform(with_synopsis_words)
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        keys_df = blocking_keys(normalised_df).unionByName(
            lsh_band_keys(normalised_df, settings.ann.bands, settings.ann.bits, settings.ann.seed)
        )
        keys_df = keys_df.persist(StorageLevel.MEMORY_AND_DISK)
        keys = keys_df.count()
    with step("pairs", "candidate pairs, their features and decisions"):
        pairs_df = (
            pair_features(
                candidate_pairs(keys_df, settings.max_block_size),
                normalised_df,
                settings.ann.min_cosine,
            )
            .transform(
                with_match_decision,
                settings.rules,
                settings.duration_tolerance,
                settings.max_year_gap,
            )
            .withColumn("resolved_date", F.lit(run_date))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        candidates = pairs_df.count()
        keys_df.unpersist()
    with step("clusters", "clusters and canonical ids"):
        matches_df = pairs_df.filter(F.col("decision") == "match")
        components_df = connected_components(matches_df, settings.max_iterations)
        entities_df = resolved_entities(
            normalised_df,
            components_df,
            strongest_match_rule(matches_df),
            previous_df,
            settings.review_cluster_size,
            settings.max_cluster_size,
            run_date,
        ).persist(StorageLevel.MEMORY_AND_DISK)
        entities_df.count()
        normalised_df.unpersist()
    return Resolution(keys, candidates, pairs_df, entities_df, seconds)


def entity_daily_features(
    events_df: DataFrame, items_df: DataFrame, entities_df: DataFrame, run_date: date
) -> DataFrame:
    """``content_daily_features`` per canonical id: each member's events count for its
    work (watch fractions against the member's own running time); release is the
    earliest of the members'."""
    durations_df = items_df.select("content_id", "duration_seconds")
    member_events_df = (
        events_df.join(durations_df, on="content_id", how="inner")
        .transform(with_canonical_id, entities_df)
        .withColumn("content_id", F.col("canonical_id"))
        .drop("canonical_id")
    )
    works_df = (
        items_df.select("content_id", "release_date")
        .transform(with_canonical_id, entities_df)
        .groupBy("canonical_id")
        .agg(F.min("release_date").alias("release_date"), F.count("*").alias("members"))
    )
    features_df = daily_features_of_timed_events(
        member_events_df, works_df.withColumnRenamed("canonical_id", "content_id"), run_date
    )
    return features_df.join(
        works_df.select(F.col("canonical_id").alias("content_id"), "members"),
        on="content_id",
        how="inner",
    ).select(
        F.col("content_id").alias("canonical_id"),
        F.col("members").cast("int").alias("members"),
        *FEATURE_COLUMNS[1:],
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
