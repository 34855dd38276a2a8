"""Publish the nightly FAISS snapshot of ``content_embeddings``, gated before promotion.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/publish_index.py --run-date 2026-11-01

Stages ``<snapshots>/<run_date>_<fingerprint>/`` (index, id map, items, manifest), judges it,
and only then moves ``CURRENT`` to it. The gates: finite, non-zero vectors; self-recall@1;
one model version; no sudden drop of the vector count against the served snapshot; and the
offline evaluation (behaviour of the last ``evaluation.window_days``) not worse than the
served snapshot's on the same queries beyond ``index.gates.evaluation_tolerance``. A refused
snapshot stays on disk with a ``REFUSED`` file, and the job fails with every reason. Inputs
identical to an existing snapshot publish nothing new. Both evaluations go to
``retrieval_eval``.
"""

from __future__ import annotations

import logging
import sys
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake import snapshot_gates as gates
from contentlake.config import Config
from contentlake.entity_tables import require_entities
from contentlake.errors import JobFailed
from contentlake.index_choice import NoIndexMeetsTargets, index_recipe
from contentlake.index_snapshot import (
    Snapshot,
    SnapshotRefused,
    current_snapshot_name,
    load_snapshot,
    prune_snapshots,
    publish_snapshot,
    read_manifest,
    snapshot_fingerprint,
)
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.lineage import snapshot_inputs
from contentlake.modality_settings import BEHAVIOUR, FUSED, TEXT, VISUAL
from contentlake.modality_versions import indexed_model_version
from contentlake.model_migration import (
    compare_models,
    genre_precision_not_worse,
    model_version_of,
)
from contentlake.observability import timed_stage
from contentlake.retrieval_eval import (
    evaluate_snapshots,
    manifest_entry,
    qrels_from_events,
    record_evaluation,
)
from contentlake.snapshot_gates import GateResult
from contentlake.snapshot_vectors import ITEM_COLUMNS, collect_vectors
from contentlake.snapshots import keep_snapshot_versions_reachable
from contentlake.tables import table_version
from contentlake.transforms.entity_resolution import filter_canonical
from contentlake.transforms.relevance import held_out_window

JOB = "publish_index"
# The job that writes each index.modality's vectors.
WRITER_JOBS = {
    TEXT: "embed_content",
    VISUAL: "embed_media",
    BEHAVIOUR: "embed_behaviour",
    FUSED: "fuse_vectors",
}
# Items whose neighbours are compared when the embedding model changed.
MIGRATION_SAMPLE = 1000
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        modality = cfg.index.modality
        tables = ("content_embeddings", "content")
        if cfg.index.one_per_entity:
            tables += ("content_entities",)  # recorded in the manifest like the others
        versions = {table: table_version(spark, table) for table in tables}
        model_version = indexed_model_version(spark, cfg, modality, versions["content_embeddings"])
        items_df = indexed_items(spark, cfg, model_version, versions, run_date)
        with timed_stage(logger, "collect vectors"):
            vectors = collect_vectors(items_df, cfg.index)
        if not vectors.ids:
            raise JobFailed(
                f"no {modality} embeddings for model version {model_version}: run "
                f"{WRITER_JOBS.get(modality, 'embed_content')} first"
            )
        fingerprint = snapshot_fingerprint(
            vectors.ids,
            vectors.input_hashes,
            model_version,
            index_recipe(cfg.index),
            cfg.index.metric,
        )
        review = SnapshotReview(
            spark,
            cfg,
            run_date,
            vectors.model_versions,
            vectors.bad_vectors,
            fused_component_versions(spark, model_version) if modality == FUSED else {},
        )
        with timed_stage(logger, "build, judge and publish snapshot"):
            try:
                path = publish_snapshot(
                    cfg.paths.snapshots,
                    run_date,
                    vectors.ids,
                    vectors.matrix,
                    fingerprint,
                    cfg.index.factory,
                    cfg.index.metric,
                    manifest_extra={
                        "source_tables": {
                            f"{cfg.database}.{table}": {"version": version}
                            for table, version in versions.items()
                        },
                        # The runs that wrote those versions: lineage back to landing files.
                        "inputs": snapshot_inputs(spark, cfg, versions),
                        "model": {
                            "name": indexed_model_name(cfg, modality),
                            "version": model_version,
                            "modality": modality,
                        },
                    },
                    min_self_recall=cfg.index.gates.min_self_recall,
                    items=vectors.items,
                    builder=vectors.builder(cfg.index, logger.info),
                    review=review,
                    positions=vectors.sample_positions,
                )
            except SnapshotRefused as refused:
                raise JobFailed(f"snapshot not promoted: {refused}") from refused
            except NoIndexMeetsTargets as missed:
                raise JobFailed(f"nothing published: {missed}") from missed
            finally:
                review.record()
        manifest = read_manifest(path)
        pruned = prune_snapshots(cfg.paths.snapshots, cfg.index.keep_snapshots)
        if days := keep_snapshot_versions_reachable(spark, cfg):
            logger.info("content_embeddings keeps %d days of history for rollbacks", days)
        logger.info(
            "published %s (%d vectors, %s %s); pruned %d old snapshots",
            path,
            len(vectors.ids),
            manifest["index"]["factory"],
            manifest["index"].get("search_params") or "",
            len(pruned),
        )
        evaluation = manifest.get("evaluation") or {}
        return job.finish(
            rows_in=len(vectors.ids),
            rows_written=manifest["vector_count"],
            details={
                "snapshot": path.name,
                "index": " ".join(
                    filter(None, (manifest["index"]["factory"], manifest["index"]["search_params"]))
                ),
                "self_recall_at_1": f"{manifest['index']['self_recall_at_1']:.4f}",
                **{
                    metric: f"{value:.4f}"
                    for metric, value in evaluation.items()
                    if "@" in metric and value is not None
                },
            },
        )


def indexed_items(
    spark: SparkSession,
    cfg: Config,
    model_version: str,
    versions: dict[str, int],
    run_date: date,
) -> DataFrame:
    """The vectors of the configured model and modality, with the items' serving metadata,
    read at the versions the manifest records. With ``index.one_per_entity`` only the
    canonical ids of ``content_entities`` as of ``run_date``: one vector per work."""
    vectors_df = (
        spark.read.option("versionAsOf", versions["content_embeddings"])
        .table("content_embeddings")
        .filter(
            (F.col("modality") == cfg.index.modality) & (F.col("model_version") == model_version)
        )
        .select("content_id", "input_hash", "model_version", "embedding")
    )
    if cfg.index.one_per_entity:
        entities_df = require_entities(spark, run_date, versions.get("content_entities"))
        vectors_df = filter_canonical(vectors_df, entities_df)
    items_df = (
        spark.read.option("versionAsOf", versions["content"]).table("content").select(*ITEM_COLUMNS)
    )
    # An embedded item removed from the catalogue since keeps its vector but no metadata:
    # it is still served (the index follows content_embeddings), with empty filters.
    return vectors_df.join(items_df, on="content_id", how="left")


class SnapshotReview:
    """The job's part of the gate: the vector count, the model versions and the offline
    evaluation of the staged snapshot against the served one, on the same queries (and,
    for a sharded build, the finite/non-zero count Spark took over every vector)."""

    def __init__(
        self,
        spark: SparkSession,
        cfg: Config,
        run_date: date,
        versions: list[str],
        bad_vectors: GateResult | None = None,
        component_versions: dict[str, list[str]] | None = None,
    ):
        self.spark = spark
        self.cfg = cfg
        self.run_date = run_date
        self.model_versions = versions
        self.bad_vectors = bad_vectors
        # For fused vectors: each fused modality's model versions over the indexed items.
        self.component_versions = component_versions or {}
        self.window = held_out_window(run_date, cfg.evaluation.window_days)
        self.served = current_snapshot_name(cfg.paths.snapshots)
        self.evaluated: dict[str, dict[str, Any]] = {}

    def __call__(self, staged: Snapshot) -> tuple[dict[str, Any], list[GateResult]]:
        limits, evaluation = self.cfg.index.gates, self.cfg.evaluation
        served = load_snapshot(self.cfg.paths.snapshots, self.served) if self.served else None
        with timed_stage(logger, "evaluate staged and served snapshots"):
            qrels = qrels_from_events(
                self.spark,
                self.window,
                evaluation.max_queries,
                evaluation.max_items_per_user,
                evaluation.max_judgments_per_query,
                evaluation.min_users,
            )
            candidates = {staged.manifest["snapshot"]: staged}
            if served is not None:
                candidates[served.manifest["snapshot"]] = served
            self.evaluated = evaluate_snapshots(candidates, qrels, evaluation.k)
            for name, snapshot in candidates.items():
                self.evaluated[name]["model_version"] = model_version_of(snapshot.manifest)
        mine = self.evaluated[staged.manifest["snapshot"]]
        results = [
            gates.one_model_version(
                {self.cfg.index.modality: self.model_versions, **self.component_versions}
            ),
            gates.vector_count(
                staged.index.ntotal,
                served.index.ntotal if served is not None else None,
                limits.max_count_drop,
            ),
            gates.evaluation_not_worse(
                mine,
                self.evaluated.get(self.served) if self.served else None,
                f"{limits.evaluation_metric}@{evaluation.k}",
                limits.evaluation_tolerance,
                limits.min_queries,
            ),
        ]
        if self.bad_vectors is not None:
            results.append(self.bad_vectors)
        extra: dict[str, Any] = {"evaluation": manifest_entry(mine, self.window)}
        if served is not None and model_version_of(served.manifest) != model_version_of(
            staged.manifest
        ):
            migration = compare_models(
                staged,
                staged.manifest,
                served,
                served.manifest,
                (_genres(staged), _genres(served)),
                evaluation.k,
                MIGRATION_SAMPLE,
            )
            extra["model_migration"] = migration
            served_queries = self.evaluated.get(self.served, {}).get("queries", 0)
            if min(mine.get("queries", 0), served_queries) < limits.min_queries:
                results.append(
                    genre_precision_not_worse(migration, evaluation.k, limits.evaluation_tolerance)
                )
        return extra, results

    def record(self) -> None:
        """Write what was evaluated (a refused snapshot too) to ``retrieval_eval``."""
        if self.evaluated:
            record_evaluation(
                self.spark,
                self.cfg,
                self.run_date,
                self.evaluated,
                self.window,
                self.model_versions[0] if self.model_versions else None,
            )


def indexed_model_name(cfg: Config, modality: str) -> str:
    return {
        TEXT: cfg.embedding.model,
        VISUAL: cfg.image_embedding.model,
        BEHAVIOUR: "als-implicit",
        FUSED: "fusion",
    }[modality]


def fused_component_versions(spark: SparkSession, model_version: str) -> dict[str, list[str]]:
    """``fused/<modality>`` -> the model versions of that block over the fused vectors of
    ``model_version`` (content_fused_sources): the one-model-version gate refuses a snapshot
    whose fused vectors were made from different text, image or behaviour models."""
    rows = (
        spark.table("content_fused_sources")
        .filter(F.col("model_version") == model_version)
        .select(F.explode("modality_versions").alias("modality", "version"))
        .distinct()
        .collect()
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(f"fused/{row['modality']}", []).append(row["version"])
    return found


def _genres(snapshot: Snapshot) -> list[list[str] | None]:
    if snapshot.items is None or "genres" not in snapshot.items.column_names:
        return [None] * len(snapshot.ids)
    return snapshot.items.column("genres").to_pylist()


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
