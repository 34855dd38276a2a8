"""The model version of each modality's vectors, as the jobs that write them and
``publish_index`` (which reads them) both compute it.

text, visual and behaviour versions follow from the configuration (a fingerprint of the
model, or of the ALS recipe). The fused version also depends on which modalities exist in
``content_embeddings`` at all (a modality no item has yet is no block of the fused vector,
so the fused dimension differs): :func:`fused_layout` reads that, cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.modality_settings import (
    BEHAVIOUR,
    FUSED,
    INDEXABLE,
    TEXT,
    VISUAL,
    behaviour_model_version,
    fused_model_version,
)


def component_version(cfg: Config, modality: str) -> str:
    """The configured model version of one of the fusable modalities."""
    if modality == TEXT:
        from contentlake.udfs.text_embedding import model_fingerprint

        return cfg.embedding.model_version or model_fingerprint(cfg.embedding.model)
    if modality == VISUAL:
        from contentlake.udfs.image_embedding import image_model_fingerprint

        settings = cfg.image_embedding
        return settings.model_version or image_model_fingerprint(settings.model)
    if modality == BEHAVIOUR:
        return behaviour_model_version(cfg.behaviour)
    raise ValueError(f"no model version for modality {modality!r}")


@dataclass(frozen=True)
class FusedLayout:
    """The blocks of the fused vectors: the fused modalities that have vectors of their
    current version, each one's version and share, and the fused version they make."""

    versions: dict[str, str]
    shares: dict[str, float]
    version: str

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.versions)


def fused_layout(
    spark: SparkSession, cfg: Config, embeddings_version: int | None = None
) -> FusedLayout:
    """The layout of the fused vectors made from ``content_embeddings`` (at
    ``embeddings_version``, default the latest)."""
    settings = cfg.fusion
    wanted = {m: component_version(cfg, m) for m in settings.used}
    reader = spark.read
    if embeddings_version is not None:
        reader = reader.option("versionAsOf", embeddings_version)
    found = {
        (row["modality"], row["model_version"])
        for row in reader.table("content_embeddings")
        .filter(F.col("modality").isin(list(wanted)))
        .select("modality", "model_version")
        .distinct()
        .collect()
    }
    versions = {m: v for m, v in wanted.items() if (m, v) in found}
    total = sum(settings.weights[m] for m in versions)
    shares = {m: settings.weights[m] / total for m in versions}
    return FusedLayout(versions, shares, fused_model_version(settings, versions))


def indexed_model_version(
    spark: SparkSession, cfg: Config, modality: str, embeddings_version: int | None = None
) -> str:
    """The version of the vectors ``publish_index`` indexes for ``modality``."""
    if modality not in INDEXABLE:
        raise ValueError(f"index.modality must be one of {INDEXABLE}, got {modality!r}")
    if modality == FUSED:
        return fused_layout(spark, cfg, embeddings_version).version
    return component_version(cfg, modality)
