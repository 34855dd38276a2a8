"""Embeds search queries with the model a snapshot's vectors were built with.

A query vector is only comparable with the index when the same model made both, so the
encoder comes from the snapshot's manifest (``model: {name, version, modality}``), never
from the service's configuration. When that cannot hold (another modality, a model that
does not load, a local model whose weights changed since the build, another dimension)
there is no encoder and the reason says why: search then runs on keywords alone.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)
# What contentlake.udfs.text_embedding.model_fingerprint returns for a local model folder.
FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")


class QueryEncoder:
    """One sentence-transformers model, encoding one query at a time."""

    def __init__(self, model: Any, name: str) -> None:
        self.model = model
        self.name = name

    def encode(self, text: str) -> np.ndarray:
        from contentlake.udfs.text_embedding import encode_batch

        return encode_batch(self.model, [text], batch_size=1)[0]


def load_query_encoder(
    model_info: dict[str, Any], dim: int, device: str = "cpu"
) -> tuple[QueryEncoder | None, str | None]:
    """The snapshot's text model, or ``(None, reason)`` when queries cannot use it."""
    name = model_info.get("name")
    modality = model_info.get("modality")
    if modality != "text" or not name:
        return None, f"the snapshot's vectors are {modality or 'of unknown modality'}, not text"
    try:
        # contentlake.udfs.text_embedding imports pyspark; only a text snapshot pays for that.
        from contentlake.udfs.text_embedding import (
            load_text_model,
            model_fingerprint,
            resolve_model_path,
        )

        version = model_info.get("version")
        if (
            version
            and FINGERPRINT.match(str(version))
            and Path(resolve_model_path(name)).is_dir()
            and model_fingerprint(name) != version
        ):
            return None, f"model {name} has changed since the snapshot was built ({version})"
        model = load_text_model(name, device)
    except Exception as error:  # any failure to load leaves keyword search working
        logger.warning("text model %s did not load: %s", name, error)
        return None, f"model {name} did not load: {error}"
    # sentence-transformers 6 renamed get_sentence_embedding_dimension; 5.x lacks the new name.
    dimension = getattr(model, "get_embedding_dimension", None)
    model_dim = dimension() if dimension else model.get_sentence_embedding_dimension()
    if model_dim != dim:
        return None, f"model {name} makes {model_dim}-d vectors, the index holds {dim}-d ones"
    return QueryEncoder(model, name), None
