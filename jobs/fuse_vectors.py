"""Fuse each item's text, visual and behaviour vectors into one ``fused`` vector.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/fuse_vectors.py --run-date 2026-11-01

The vectors of each fused modality's current model version (``contentlake/modality_versions``)
are fused by ``contentlake/transforms/fusion.py``: blocks L2-normalised and scaled by the
square root of their configured share, a missing modality filled with its group's mean
vector, optionally projected by a PCA fitted here (``fusion.projection_dim``), then
L2-normalised. The vector goes to ``content_embeddings`` (modality ``fused``) and what it
was made of to ``content_fused_sources``. Only items whose inputs changed are written, and
without a projection only they are fused: their input hashes come from the stored input
hashes alone (``fused_inputs``), and only the group means they are filled from are
averaged. A projection is fitted on every item's fused vector, so it fuses them all.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from datetime import date

from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.ml.feature import PCA
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.errors import JobFailed
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.modality_settings import FUSED
from contentlake.modality_versions import FusedLayout, fused_layout
from contentlake.observability import timed_stage
from contentlake.tables import table_version
from contentlake.transforms.embedding_inputs import filter_needs_embedding
from contentlake.transforms.fusion import (
    fuse_modalities,
    fused_embeddings,
    fused_inputs,
    with_fused_provenance,
)
from contentlake.transforms.vectors import l2_normalised

JOB = "fuse_vectors"
MODEL_NAME = "fusion"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        versions = {t: table_version(spark, t) for t in ("content_embeddings", "content")}
        layout = fused_layout(spark, cfg, versions["content_embeddings"])
        if not layout.versions:
            raise JobFailed("no vectors of any fused modality: run embed_content first")
        logger.info("fusing %s into version %s", layout.shares, layout.version)
        with timed_stage(logger, "fuse vectors"):
            pending_df = pending_vectors(spark, cfg, layout, versions).persist(
                StorageLevel.MEMORY_AND_DISK
            )
            pending = pending_df.count()
        try:
            with timed_stage(logger, "merge and check content_embeddings"):
                if pending:
                    sources_df, vectors_df = fused_rows(
                        pending_df, layout, cfg.fusion.projection_dim, run_date
                    )
                    # The provenance first: no vector is served without a record of what
                    # made it. One gate for both: a refused vector takes its record back.
                    with job.gate_together():
                        job.gated_write(
                            "content_fused_sources",
                            lambda: merge_rows(spark, "content_fused_sources", sources_df),
                        )
                        job.gated_write(
                            "content_embeddings",
                            lambda: merge_rows(spark, "content_embeddings", vectors_df),
                        )
                else:
                    # The same checks as a run that writes, so a rerun records the same.
                    job.check("content_fused_sources", also=("content_embeddings",))
        finally:
            pending_df.unpersist()
        logger.info("fused %d changed items (version %s)", pending, layout.version)
        return job.finish(
            rows_in=pending,
            rows_written=pending,
            details={
                "model_version": layout.version,
                "modalities": ",".join(layout.modalities),
                **{f"{m}_version": v for m, v in layout.versions.items()},
            },
        )


def pending_vectors(
    spark: SparkSession, cfg: Config, layout: FusedLayout, versions: dict[str, int]
) -> DataFrame:
    """(content_id, embedding, modalities, imputed, input_hash) of the items whose fused
    vector is missing or was made from other inputs (or another fit of the projection)."""
    stored_df = spark.table("content_embeddings")
    if cfg.fusion.projection_dim is not None:
        fused_df = fused_vectors(spark, cfg, layout, versions)
        return filter_needs_embedding(fused_df, stored_df, FUSED, layout.version)
    vectors_df, items_df = fusion_inputs(spark, layout, versions)
    # The input hashes need the stored hashes, not the vectors: reading every vector to skip
    # all-zero ones would cost a rerun a pass over the whole table (about 2 of 3 s warm at
    # 10,000 items), and none is stored, since not_zero_vector fails the gate of the run that
    # would write one.
    inputs_df = fused_inputs(vectors_df.drop("embedding"), items_df, layout.shares)
    changed_df = filter_needs_embedding(inputs_df, stored_df, FUSED, layout.version)
    return fused_embeddings(vectors_df, items_df, changed_df, layout.shares).select(
        "content_id",
        F.transform(l2_normalised(F.col("embedding")), lambda x: x.cast("float")).alias(
            "embedding"
        ),
        "modalities",
        "imputed",
        "input_hash",
    )


def fusion_inputs(
    spark: SparkSession, layout: FusedLayout, versions: dict[str, int]
) -> tuple[DataFrame, DataFrame]:
    """The fused modalities' vectors at their layout versions, and the items' groups."""
    wanted = F.lit(False)
    for modality, version in layout.versions.items():
        wanted = wanted | ((F.col("modality") == modality) & (F.col("model_version") == version))
    vectors_df = (
        spark.read.option("versionAsOf", versions["content_embeddings"])
        .table("content_embeddings")
        .filter(wanted)
        .select("content_id", "modality", "input_hash", "embedding")
    )
    items_df = (
        spark.read.option("versionAsOf", versions["content"])
        .table("content")
        .select("content_id", "genres", "content_type")
    )
    return vectors_df, items_df


def fused_vectors(
    spark: SparkSession, cfg: Config, layout: FusedLayout, versions: dict[str, int]
) -> DataFrame:
    """(content_id, embedding, modalities, imputed, input_hash) of every item with at least
    one fused modality, projected when ``fusion.projection_dim`` is set."""
    vectors_df, items_df = fusion_inputs(spark, layout, versions)
    fused_df = fuse_modalities(vectors_df, items_df, layout.shares)
    if cfg.fusion.projection_dim is None:
        return fused_df.withColumn(
            "embedding", F.transform(l2_normalised(F.col("embedding")), lambda x: x.cast("float"))
        )
    return project(fused_df, cfg.fusion.projection_dim)


def project(fused_df: DataFrame, dim: int) -> DataFrame:
    """PCA to ``dim`` dimensions fitted on these vectors, then L2-normalised. Every item's
    input hash takes in a hash of the fitted components: a refit that moves them re-writes
    every vector, one that does not (same inputs) re-writes none."""
    features_df = fused_df.withColumn("features", array_to_vector("embedding"))
    model = PCA(k=dim, inputCol="features", outputCol="projected").fit(features_df)
    components = model.pc.toArray().astype("float64").tobytes()
    fit_hash = hashlib.sha256(components).hexdigest()[:16]
    projected_df = model.transform(features_df)
    return projected_df.select(
        "content_id",
        F.transform(l2_normalised(vector_to_array("projected")), lambda x: x.cast("float")).alias(
            "embedding"
        ),
        "modalities",
        "imputed",
        F.sha2(F.concat_ws("|", "input_hash", F.lit(f"pca{dim}:{fit_hash}")), 256).alias(
            "input_hash"
        ),
    )


def fused_rows(
    pending_df: DataFrame, layout: FusedLayout, projection_dim: int | None, run_date: date
) -> tuple[DataFrame, DataFrame]:
    """Rows for ``content_fused_sources`` and ``content_embeddings``."""
    vectors_df = pending_df.select(
        "content_id",
        F.lit(FUSED).alias("modality"),
        F.lit(MODEL_NAME).alias("model_name"),
        F.lit(layout.version).alias("model_version"),
        F.size("embedding").alias("dim"),
        "input_hash",
        "embedding",
        F.lit(run_date).alias("embedded_date"),
    )
    sources_df = with_fused_provenance(pending_df, layout.versions, layout.shares).select(
        "content_id",
        F.lit(layout.version).alias("model_version"),
        "modalities",
        "imputed",
        "modality_versions",
        "weights",
        F.lit(projection_dim).cast("int").alias("projection_dim"),
        "input_hash",
        F.lit(run_date).alias("embedded_date"),
    )
    return sources_df, vectors_df


def merge_rows(spark: SparkSession, table: str, source_df: DataFrame) -> None:
    """Upsert by (content_id, model_version), and modality where the table has one."""
    key = "t.content_id = s.content_id and t.model_version = s.model_version"
    if "modality" in source_df.columns:
        key += " and t.modality = s.modality"
    (
        DeltaTable.forName(spark, table)
        .alias("t")
        .merge(source_df.alias("s"), key)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
