"""Typed configuration loaded from ``conf/base.yaml`` plus a profile overlay.

Jobs never read globals, environment or Airflow Variables on their own: ``main()`` calls
:func:`load_config` once and passes the result down.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
PROFILES = ("local", "cluster", "gpu")
EXTRA_COLUMN_POLICIES = ("ignore", "evolve")
METASTORE_KINDS = ("derby", "postgres")

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


@dataclass(frozen=True)
class SparkSettings:
    app_name: str
    master: str | None
    packages: tuple[str, ...]
    jars_excludes: tuple[str, ...]
    conf: dict[str, str] = field(default_factory=dict)


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
    password: str = "contentlake"
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
class EmbeddingSettings:
    model: str
    model_version: str | None
    modality: str
    batch_size: int
    device: str
    partitions: int | None
    texts_per_call: int


@dataclass(frozen=True)
class GateSettings:
    """What a staged snapshot must pass before CURRENT points at it (``index.gates``)."""

    min_self_recall: float = 0.9
    max_count_drop: float = 0.2
    evaluation_metric: str = "ndcg"
    evaluation_tolerance: float = 0.02
    min_queries: int = 50


@dataclass(frozen=True)
class IndexSettings:
    factory: str
    metric: str
    keep_snapshots: int
    gates: GateSettings = field(default_factory=GateSettings)


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
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)


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
    )


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
            conf={key: str(value) for key, value in (spark.get("conf") or {}).items()},
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
        ),
        index=IndexSettings(
            factory=index["factory"],
            metric=index["metric"],
            keep_snapshots=int(index["keep_snapshots"]),
            gates=GateSettings(**index.get("gates", {})),
        ),
        evaluation=EvaluationSettings(**raw.get("evaluation", {})),
        writes=WriteSettings(**raw.get("writes", {})),
        metastore=MetastoreSettings(
            kind=metastore.get("kind", "derby"),
            postgres=PostgresMetastore(**metastore.get("postgres", {})),
        ),
    )
