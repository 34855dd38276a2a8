"""Typed configuration loaded from ``conf/base.yaml`` plus a profile overlay.

Jobs never read globals, environment or Airflow Variables on their own: ``main()`` calls
:func:`load_config` once and passes the result down.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from contentlake.entity_settings import EntitySettings, entity_settings
from contentlake.modality_settings import (
    BehaviourSettings,
    FusionSettings,
    ImageEmbeddingSettings,
    behaviour_settings,
    fusion_settings,
    image_settings,
)

# conf/ installs as the package contentlake.conf (pyproject.toml), so a wheel finds it too.
CONF_DIR = Path(resources.files("contentlake.conf"))
PROFILES = ("local", "cluster", "gpu")
EXTRA_COLUMN_POLICIES = ("ignore", "evolve")
METASTORE_KINDS = ("derby", "postgres")
CHANGE_SOURCES = ("auto", "cdf", "input_hash")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class PathSettings:
    root: Path
    landing: Path
    warehouse: Path
    metastore: Path
    snapshots: Path
    dead_letter: Path
    ivy: Path | None = None
    # The OpenLineage file transport's folder (spark_settings.py names the file in it).
    lineage: Path | None = None


@dataclass(frozen=True)
class SparkSettings:
    app_name: str
    master: str | None
    packages: tuple[str, ...]
    jars_excludes: tuple[str, ...]
    conf: dict[str, str] = field(default_factory=dict)
    # The executors' Python environment (``make env-archive``): a path or any Hadoop URI,
    # shipped as spark.archives=<it>#env; $CONTENTLAKE_ENV_ARCHIVE overrides it
    # (contentlake.spark_settings.env_archive). None: executors use the driver's Python.
    env_archive: str | None = None


@dataclass(frozen=True)
class IngestSettings:
    future_tolerance_minutes: int = 60
    extra_columns: str = "ignore"

    def __post_init__(self) -> None:
        if self.extra_columns not in EXTRA_COLUMN_POLICIES:
            raise ValueError(
                f"ingest.extra_columns must be one of {EXTRA_COLUMN_POLICIES}, "
                f"got {self.extra_columns!r}"
            )


@dataclass(frozen=True)
class WriteSettings:
    max_attempts: int = 5
    backoff_seconds: float = 1.0


@dataclass(frozen=True)
class PostgresMetastore:
    host: str = "localhost"
    port: int = 5433
    database: str = "contentlake_metastore"
    user: str = "contentlake"
    # No password here: it is a secret, read at run time from the environment
    # (contentlake.metastore.metastore_password), never from a committed file.
    # The JDBC driver that `python -m contentlake.metastore up` keeps for Spark's class path.
    driver_package: str = "org.postgresql:postgresql:42.7.14"


@dataclass(frozen=True)
class MetastoreSettings:
    kind: str = "derby"
    postgres: PostgresMetastore = field(default_factory=PostgresMetastore)

    def __post_init__(self) -> None:
        if self.kind not in METASTORE_KINDS:
            raise ValueError(f"metastore.kind must be one of {METASTORE_KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class SqlEndpointSettings:
    """The analysts' read-only Thrift JDBC server (``contentlake/sql_endpoint.py``).

    ``user`` is the PostgreSQL login the server reads the metastore with (granted SELECT
    only) and the name analysts pass to beeline with ``-n``; its password is a secret
    (contentlake.metastore.endpoint_password), never configured in a file.
    """

    host: str = "localhost"
    port: int = 10000
    user: str = "analyst"


@dataclass(frozen=True)
class EmbeddingSettings:
    model: str
    model_version: str | None
    modality: str
    batch_size: int
    device: str
    partitions: int | None
    texts_per_call: int
    # Which items to re-embed: "input_hash" joins every item's text hash with the stored
    # vectors; "cdf" only looks at the content rows changed since the version last
    # embedded (Change Data Feed); "auto" takes cdf where it can (see embedding_inputs.py).
    change_source: str = "input_hash"

    def __post_init__(self) -> None:
        if self.change_source not in CHANGE_SOURCES:
            raise ValueError(
                f"embedding.change_source must be one of {CHANGE_SOURCES}, "
                f"got {self.change_source!r}"
            )


SHOT_DETECTORS = ("framediff", "transnetv2")
KEYFRAME_FORMATS = ("png", "jpeg")


@dataclass(frozen=True)
class MediaSettings:
    """Posters and videos of the catalogue (``jobs/extract_keyframes.py``, docs/media.md)."""

    # Where relative and landing:// media URIs resolve: a local folder or any URI pyarrow.fs
    # reads (hdfs://, s3://); None: paths.landing.
    root: str | None = None
    shot_detector: str = "framediff"
    # framediff: a cut where the colour histograms of two frames differ by more than this
    # (half the L1 distance, 0..1). transnetv2: the model's cut probability.
    cut_threshold: float = 0.5
    transnet_threshold: float = 0.5
    min_shot_frames: int = 2
    keyframes_per_shot: int = 1
    max_keyframes_per_item: int = 8
    # Only the first seconds of a long video are decoded: keyframes stay bounded in cost.
    max_decode_seconds: float = 600.0
    analysis_side: int = 96
    keyframe_max_side: int = 224
    keyframe_format: str = "png"
    # Streams in another codec are refused with status unsupported_codec, even when FFmpeg
    # could decode them: what the platform accepts is a choice, not FFmpeg's build.
    supported_codecs: tuple[str, ...] = ("h264", "hevc", "vp8", "vp9", "av1", "mpeg4")
    partitions: int | None = None

    def __post_init__(self) -> None:
        if self.shot_detector not in SHOT_DETECTORS:
            raise ValueError(
                f"media.shot_detector must be one of {SHOT_DETECTORS}, got {self.shot_detector!r}"
            )
        if self.keyframe_format not in KEYFRAME_FORMATS:
            raise ValueError(f"media.keyframe_format must be one of {KEYFRAME_FORMATS}")
        if self.keyframes_per_shot < 1 or self.max_keyframes_per_item < 1:
            raise ValueError("media.keyframes_per_shot and max_keyframes_per_item must be >= 1")


@dataclass(frozen=True)
class GateSettings:
    """What a staged snapshot must pass before CURRENT points at it (``index.gates``)."""

    min_self_recall: float = 0.9
    max_count_drop: float = 0.2
    evaluation_metric: str = "ndcg"
    evaluation_tolerance: float = 0.02
    min_queries: int = 50


# index.factory value that chooses the index by measurement.
CHOOSE_INDEX = "choose"
_INDEX_CHOICE_KEYS = (
    "target_recall_at_10",
    "max_bytes",
    "max_p99_ms",
    "choice_queries",
    "latency_queries",
    "max_train_points",
    "driver_max_vectors",
    "modality",
    "one_per_entity",
)


@dataclass(frozen=True)
class IndexSettings:
    """How a snapshot's index is built: a fixed faiss factory string, or ``choose``, which
    measures ``candidates`` (None: ``index_choice.DEFAULT_CANDIDATES``) and publishes the
    smallest meeting the three limits (see ``contentlake.index_choice``)."""

    factory: str
    metric: str
    keep_snapshots: int
    gates: GateSettings = field(default_factory=GateSettings)
    target_recall_at_10: float = 0.95
    max_bytes: int | str | None = None
    max_p99_ms: float | None = None
    candidates: tuple[dict[str, Any], ...] | None = None
    choice_queries: int = 1000
    latency_queries: int = 200
    max_train_points: int = 50_000
    # Above this many vectors the driver trains on a sample and Spark partitions add
    # the vectors (index_choice.add_in_partitions): it never holds them all at once.
    driver_max_vectors: int = 2_000_000
    # Which vectors the snapshot indexes: fused (default), text, visual or behaviour.
    modality: str = "fused"
    # One vector per entity (content_entities of the run date): duplicates are not served.
    one_per_entity: bool = False

    @property
    def chosen_by_measurement(self) -> bool:
        return self.factory == CHOOSE_INDEX


@dataclass(frozen=True)
class EvaluationSettings:
    """Offline evaluation of a snapshot on the behaviour of a held-out window."""

    window_days: int = 7
    k: int = 10
    max_queries: int = 2000
    max_items_per_user: int = 100
    max_judgments_per_query: int = 50
    min_users: int = 1


@dataclass(frozen=True)
class DriftThresholds:
    """Warn levels of ``drift_metrics`` (``drift.warn``). Each is stored in the row of the
    metric it applies to, so the checks in ``sql/dq/drift_metrics/`` compare a value with
    the threshold in force when it was computed. ``neighbour_overlap`` warns below, the
    others above."""

    psi: float = 0.2
    js_divergence: float = 0.05
    mean_cosine_distance: float = 0.05
    changed_share: float = 0.2
    neighbour_overlap: float = 0.5


@dataclass(frozen=True)
class DriftSettings:
    """How ``jobs/measure_drift.py`` compares a run date with its baseline (``drift``)."""

    baseline_days: int = 7
    bins: int = 10
    epsilon: float = 1e-4
    neighbour_k: int = 10
    neighbour_sample: int = 1000
    warn: DriftThresholds = field(default_factory=DriftThresholds)

    def __post_init__(self) -> None:
        if self.baseline_days < 1 or self.bins < 2 or self.neighbour_k < 1:
            raise ValueError("drift.baseline_days, neighbour_k must be >= 1 and bins >= 2")
        if self.neighbour_sample < 1:
            raise ValueError("drift.neighbour_sample must be at least 1")
        if not 0 < self.epsilon < 0.01:
            raise ValueError(f"drift.epsilon must lie in (0, 0.01), got {self.epsilon}")


@dataclass(frozen=True)
class MaintenanceSettings:
    """The weekly table maintenance (``jobs/maintain_tables.py``, ``maintenance``)."""

    # Table -> columns to Z-ORDER by when compacting (others are only compacted).
    zorder_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # VACUUM never keeps less than this (Delta's own default is 168 hours) ...
    min_retention_hours: float = 168.0
    # ... and keeps every version a kept snapshot names, plus this margin.
    retention_margin_hours: float = 24.0

    def __post_init__(self) -> None:
        if self.min_retention_hours < 0 or self.retention_margin_hours < 0:
            raise ValueError("maintenance retention hours must not be negative")


@dataclass(frozen=True)
class Config:
    profile: str
    database: str
    paths: PathSettings
    spark: SparkSettings
    ingest: IngestSettings
    embedding: EmbeddingSettings
    index: IndexSettings
    writes: WriteSettings = field(default_factory=WriteSettings)
    metastore: MetastoreSettings = field(default_factory=MetastoreSettings)
    sql_endpoint: SqlEndpointSettings = field(default_factory=SqlEndpointSettings)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    drift: DriftSettings = field(default_factory=DriftSettings)
    maintenance: MaintenanceSettings = field(default_factory=MaintenanceSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    # The modalities beside text and their fusion (contentlake/modality_settings.py).
    image_embedding: ImageEmbeddingSettings = field(default_factory=ImageEmbeddingSettings)
    behaviour: BehaviourSettings = field(default_factory=BehaviourSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)
    # Entity resolution of the catalogue (contentlake/entity_settings.py).
    entities: EntitySettings = field(default_factory=EntitySettings)


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Overlay wins key by key; nested mappings merge instead of being replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    profile: str | None = None,
    root: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Load ``base.yaml``, overlay ``profiles/<profile>.yaml`` and then ``overrides``.

    ``profile`` defaults to ``$CONTENTLAKE_PROFILE`` or ``local``; ``root`` to
    ``$CONTENTLAKE_ROOT`` or the ``paths.root`` of the files. ``$CONTENTLAKE_METASTORE``
    (``derby`` or ``postgres``) sets ``metastore.kind`` over the files, ``overrides`` aside:
    the metastore is a choice of the machine, not of the profile, and spark-submit and
    Airflow pass the environment on to the job that loads the configuration again.
    ``$CONTENTLAKE_CONF`` names one more YAML file overlaid after the profile: a site's own
    settings (another embedding model, a database name) without editing ``conf/``.
    """
    profile = profile or os.environ.get("CONTENTLAKE_PROFILE", "local")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    raw = deep_merge(
        _load_yaml(CONF_DIR / "base.yaml"), _load_yaml(CONF_DIR / "profiles" / f"{profile}.yaml")
    )
    if site_conf := os.environ.get("CONTENTLAKE_CONF"):
        raw = deep_merge(raw, _load_yaml(Path(site_conf)))
    if metastore_kind := os.environ.get("CONTENTLAKE_METASTORE"):
        raw = deep_merge(raw, {"metastore": {"kind": metastore_kind}})
    raw = deep_merge(raw, overrides or {})
    root = root or os.environ.get("CONTENTLAKE_ROOT") or raw["paths"]["root"]
    return _build(profile, raw, Path(root))


def add_lakehouse_options(parser: argparse.ArgumentParser) -> None:
    """``--profile`` and ``--root``, the two options every command-line tool shares."""
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help="conf/profiles/<profile>.yaml (default: $CONTENTLAKE_PROFILE or local)",
    )
    parser.add_argument(
        "--root",
        default=None,
        help="lakehouse root folder (default: $CONTENTLAKE_ROOT or conf paths.root)",
    )


def validate_identifier(name: str) -> str:
    """Reject anything but a plain SQL identifier: config values reach DDL and queries."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a valid table or database name")
    return name


def _without_secrets(section: dict[str, Any]) -> dict[str, Any]:
    """Refuse a password in a configuration file: files are committed and copied around;
    passwords come from the environment or an Airflow connection (contentlake.metastore)."""
    if "password" in section:
        raise ValueError(
            "a password does not belong in a configuration file: set "
            "CONTENTLAKE_METASTORE_PASSWORD / CONTENTLAKE_SQL_ENDPOINT_PASSWORD, or the "
            "Airflow connection contentlake_metastore (docs/operations.md)"
        )
    return section


def _load_yaml(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.safe_load(handle) or {}


def _resolve_paths(raw: dict[str, Any], root: Path) -> PathSettings:
    root = root.expanduser().resolve()

    def resolve(key: str) -> Path | None:
        value = raw.get(key)
        if value is None:
            return None
        return Path(str(value).format(root=root)).expanduser().resolve()

    return PathSettings(
        root=root,
        landing=resolve("landing"),
        warehouse=resolve("warehouse"),
        metastore=resolve("metastore"),
        snapshots=resolve("snapshots"),
        dead_letter=resolve("dead_letter"),
        ivy=resolve("ivy"),
        lineage=resolve("lineage"),
    )


def _maintenance_settings(maintenance: dict[str, Any]) -> MaintenanceSettings:
    zorder_by = maintenance.get("zorder_by") or {}
    zorder = {table: tuple(columns) for table, columns in zorder_by.items()}
    return MaintenanceSettings(**{**maintenance, "zorder_by": zorder})


def _media_settings(media: dict[str, Any]) -> MediaSettings:
    codecs = media.get("supported_codecs")
    return MediaSettings(
        **{**media, **({"supported_codecs": tuple(codecs)} if codecs is not None else {})}
    )


def _drift_settings(drift: dict[str, Any]) -> DriftSettings:
    warn = DriftThresholds(**(drift.get("warn") or {}))
    return DriftSettings(**{**drift, "warn": warn})


def _build(profile: str, raw: dict[str, Any], root: Path) -> Config:
    spark = raw["spark"]
    embedding = raw["embedding"]
    index = raw["index"]
    metastore = raw.get("metastore", {})
    return Config(
        profile=profile,
        database=validate_identifier(raw["database"]),
        paths=_resolve_paths(raw["paths"], root),
        spark=SparkSettings(
            app_name=spark["app_name"],
            master=spark.get("master"),
            packages=tuple(spark.get("packages") or ()),
            jars_excludes=tuple(spark.get("jars_excludes") or ()),
            # {conf_dir}: the installed conf/ folder (the gpu profile's discovery script).
            conf={
                key: str(value).replace("{conf_dir}", str(CONF_DIR))
                for key, value in (spark.get("conf") or {}).items()
            },
            env_archive=spark.get("env_archive"),
        ),
        ingest=IngestSettings(**raw.get("ingest", {})),
        embedding=EmbeddingSettings(
            model=embedding["model"],
            model_version=embedding.get("model_version"),
            modality=embedding["modality"],
            batch_size=int(embedding["batch_size"]),
            device=embedding["device"],
            partitions=embedding.get("partitions"),
            texts_per_call=int(embedding["texts_per_call"]),
            change_source=embedding.get("change_source", "input_hash"),
        ),
        index=IndexSettings(
            factory=index["factory"],
            metric=index["metric"],
            keep_snapshots=int(index["keep_snapshots"]),
            gates=GateSettings(**index.get("gates", {})),
            **{key: index[key] for key in _INDEX_CHOICE_KEYS if key in index},
            candidates=(None if index.get("candidates") is None else tuple(index["candidates"])),
        ),
        evaluation=EvaluationSettings(**raw.get("evaluation", {})),
        drift=_drift_settings(raw.get("drift") or {}),
        maintenance=_maintenance_settings(raw.get("maintenance") or {}),
        media=_media_settings(raw.get("media") or {}),
        writes=WriteSettings(**raw.get("writes", {})),
        metastore=MetastoreSettings(
            kind=metastore.get("kind", "derby"),
            postgres=PostgresMetastore(**_without_secrets(metastore.get("postgres", {}))),
        ),
        sql_endpoint=SqlEndpointSettings(**_without_secrets(raw.get("sql_endpoint", {}))),
        image_embedding=image_settings(raw.get("image_embedding")),
        behaviour=behaviour_settings(raw.get("behaviour")),
        fusion=fusion_settings(raw.get("fusion")),
        entities=entity_settings(raw.get("entities")),
    )
