"""Publish the nightly FAISS snapshot of ``content_embeddings``.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/publish_index.py --run-date 2026-11-01

Writes ``<snapshots>/<run_date>_<fingerprint>/`` (index, id map, manifest) atomically and
moves the ``CURRENT`` pointer to it. Inputs identical to an existing snapshot publish
nothing new. The snapshot is gated before promotion: an index whose vectors no longer find
themselves (self-recall@1 below MIN_SELF_RECALL) stays on disk, marked REFUSED, CURRENT does
not move, and the job fails.
"""

from __future__ import annotations

import logging
import sys
from datetime import date

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.errors import JobFailed
from contentlake.index_snapshot import (
    SnapshotRefused,
    load_snapshot,
    prune_snapshots,
    publish_snapshot,
    snapshot_fingerprint,
)
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.observability import timed_stage
from contentlake.tables import table_version
from udfs.text_embedding import model_fingerprint

JOB = "publish_index"
MIN_SELF_RECALL = 0.9
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        settings = cfg.embedding
        model_version = settings.model_version or model_fingerprint(settings.model)
        source_version = table_version(spark, "content_embeddings")
        with timed_stage(logger, "collect vectors"):
            vectors_pdf = (
                spark.read.option("versionAsOf", source_version)
                .table("content_embeddings")
                .filter(
                    (F.col("modality") == settings.modality)
                    & (F.col("model_version") == model_version)
                )
                .select("content_id", "input_hash", "embedding")
                .orderBy("content_id")
                .toPandas()
            )
        if vectors_pdf.empty:
            raise JobFailed(
                f"no {settings.modality} embeddings for model version {model_version}: "
                "run embed_content first"
            )
        ids = vectors_pdf["content_id"].tolist()
        vectors = np.vstack(vectors_pdf["embedding"].to_numpy()).astype(np.float32)
        fingerprint = snapshot_fingerprint(
            ids,
            vectors_pdf["input_hash"].tolist(),
            model_version,
            cfg.index.factory,
            cfg.index.metric,
        )
        with timed_stage(logger, "build and publish snapshot"):
            try:
                path = publish_snapshot(
                    cfg.paths.snapshots,
                    run_date,
                    ids,
                    vectors,
                    fingerprint,
                    cfg.index.factory,
                    cfg.index.metric,
                    manifest_extra={
                        "source_tables": {
                            f"{cfg.database}.content_embeddings": {"version": source_version}
                        },
                        "model": {
                            "name": settings.model,
                            "version": model_version,
                            "modality": settings.modality,
                        },
                    },
                    min_self_recall=MIN_SELF_RECALL,
                )
            except SnapshotRefused as refused:
                raise JobFailed(f"snapshot not promoted: {refused}") from refused
        snapshot = load_snapshot(cfg.paths.snapshots, path.name)
        recall = snapshot.manifest["index"]["self_recall_at_1"]
        pruned = prune_snapshots(cfg.paths.snapshots, cfg.index.keep_snapshots)
        logger.info(
            "published %s (%d vectors); pruned %d old snapshots", path, len(ids), len(pruned)
        )
        return job.finish(
            rows_in=len(ids),
            rows_written=snapshot.index.ntotal,
            details={"snapshot": path.name, "self_recall_at_1": f"{recall:.4f}"},
        )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
