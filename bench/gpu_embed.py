"""Embedding on a GPU against the CPU: the UDFs' own Python, per device, without a JVM.

    python bench/gpu_embed.py --texts 10000 --frames 2048
    python bench/gpu_embed.py --text-model /path/to/model   # any sentence-transformers folder

What a GPU executor buys, measured where there is a GPU but no Spark installation (a
notebook machine, a GPU box to size before asking a cluster for it). The text and image
pandas UDFs' bodies (``embed_text_batches``, ``embed_image_batches``) run as a Python worker
runs them: fed an iterator of pandas Series of ``--arrow-rows`` values, as Spark's Arrow
batches arrive. Only Spark's Arrow transfer is left out. Each modality runs

- on the CPU in fp32 with every core, with the ``local`` profile's batch sizes;
- on CUDA device 0 in fp16 with ``device: auto`` (``udfs/devices.py`` picks the GPU and half
  precision, as in a task that Spark gave no GPU address), with the ``gpu`` profile's batch
  sizes and a few larger ones.

The texts are sample catalogue passages (title, description, genres, tags, built as
``transforms/embedding_inputs.with_embedding_text`` builds them); the frames are the seeded
160x90 keyframe-like PNGs of ``bench/image_throughput.py``. The model is loaded and warmed up
before timing; each setting runs ``--repeat`` times and the best run counts.

fp16 is only worth its speed if the vectors stay where fp32 puts them, so the run also prints,
for every input, the cosine between its fp16-on-GPU and fp32-on-CPU vectors (smallest and
mean) and how many of each item's 10 nearest neighbours (by cosine, over up to 4,000 items)
the two agree on. The last line is ``ratio=<GPU items/s / CPU items/s>`` of the modality that
gains least, each at its best batch size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from contentlake.udfs.devices import choose_device
from contentlake.udfs.image_embedding import embed_image_batches
from contentlake.udfs.text_embedding import embed_text_batches

from contentlake.config import load_config
from contentlake.neighbour_overlap import overlap_of
from contentlake.sample_data import SampleSpec, catalog_path, generate

sys.path.insert(0, str(Path(__file__).parent))
from image_throughput import frames  # noqa: E402  (a sibling script, not a package)

NEIGHBOURS = 10
NEIGHBOUR_ITEMS = 4000


def catalogue_texts(count: int, seed: int = 7) -> list[str]:
    """``count`` passages of a generated catalogue, in the shape the embed job feeds the
    model: "title. description. Genres: a, b. Tags: c, d" (missing parts left out)."""
    with tempfile.TemporaryDirectory(prefix="gpu-bench-") as landing:
        spec = SampleSpec(items=count, days=1, users=1, events_per_day=0, seed=seed)
        generate(Path(landing), spec)
        lines = catalog_path(Path(landing), spec.start_date).read_text().splitlines()
    texts = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the generator's planted bad lines
        if not isinstance(record, dict) or not isinstance(record.get("title"), str):
            continue
        parts = [record["title"], record.get("description")]
        for label, key in (("Genres", "genres"), ("Tags", "tags")):
            values = record.get(key)
            if isinstance(values, list) and values:
                parts.append(f"{label}: " + ", ".join(str(v) for v in values))
        texts.append(". ".join(str(p) for p in parts if isinstance(p, str) and p))
    return texts


# A UDF body with everything but its input bound: batches of values -> batches of vectors.
Embed = Callable[[Iterator[pd.Series]], Iterator[pd.Series]]


def run_udf(embed: Embed, values: list, arrow_rows: int) -> tuple[float, np.ndarray]:
    """Seconds for a UDF body over ``values`` in Series of ``arrow_rows``, and the vectors
    it returned, one row per value."""
    batches = (
        pd.Series(values[start : start + arrow_rows], dtype=object)
        for start in range(0, len(values), arrow_rows)
    )
    started = time.perf_counter()
    out = [vector for series in embed(batches) for vector in series]
    seconds = time.perf_counter() - started
    return seconds, np.asarray([np.asarray(v, dtype=np.float32) for v in out])


def best_rate(
    make_udf: Callable[[str, int], Embed],
    device: str,
    batch_size: int,
    values: list,
    arrow_rows: int,
    repeat: int,
) -> tuple[float, list[float], np.ndarray]:
    """Items/s of the best of ``repeat`` runs after a warm-up that loads the model."""
    embed = make_udf(device, batch_size)
    run_udf(embed, values[: min(len(values), 2 * batch_size)], arrow_rows)
    runs, vectors = [], None
    for _ in range(repeat):
        seconds, vectors = run_udf(embed, values, arrow_rows)
        runs.append(seconds)
    return len(values) / min(runs), runs, vectors


def agreement(reference: np.ndarray, other: np.ndarray) -> tuple[float, float, float]:
    """Smallest and mean cosine between matching rows, and the mean share of each row's
    ``NEIGHBOURS`` nearest neighbours that both sets of vectors agree on (the drift job's
    neighbour overlap, ``contentlake/neighbour_overlap.py``)."""
    cosines = np.sum(reference * other, axis=1) / (
        np.linalg.norm(reference, axis=1) * np.linalg.norm(other, axis=1)
    )
    n = min(len(reference), NEIGHBOUR_ITEMS)

    def top(vectors: np.ndarray) -> np.ndarray:
        sims = vectors[:n] @ vectors[:n].T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1)[:, :NEIGHBOURS]

    def lists(vectors: np.ndarray) -> dict[int, list[int]]:
        return dict(enumerate(top(vectors).tolist()))

    shared = overlap_of(lists(reference), lists(other)).overlap
    return float(cosines.min()), float(cosines.mean()), float(shared)


def bench_modality(
    name: str,
    unit: str,
    make_udf: Callable[[str, int], Embed],
    values: list,
    cpu_batch: int,
    gpu_batches: list[int],
    args: argparse.Namespace,
) -> float:
    """Print the CPU and GPU rates of one modality and their agreement; return the GPU's
    best rate over the CPU's."""
    cpu_rate, cpu_runs, cpu_vectors = best_rate(
        make_udf, "cpu", cpu_batch, values, args.arrow_rows, args.repeat
    )
    print(f"{name} cpu fp32  batch {cpu_batch:5d}: {cpu_rate:9.1f} {unit}/s  {fmt(cpu_runs)}")
    best_gpu = 0.0
    for batch in gpu_batches:
        rate, runs, vectors = best_rate(
            make_udf, "auto", batch, values, args.arrow_rows, args.repeat
        )
        low, mean, shared = agreement(cpu_vectors, vectors)
        print(
            f"{name} cuda fp16 batch {batch:5d}: {rate:9.1f} {unit}/s  {fmt(runs)}  "
            f"x{rate / cpu_rate:.1f}; cosine to fp32 min {low:.4f} mean {mean:.5f}; "
            f"top-{NEIGHBOURS} neighbours shared {shared:.3f}"
        )
        best_gpu = max(best_gpu, rate)
    return best_gpu / cpu_rate


def fmt(runs: list[float]) -> str:
    return "(runs: " + ", ".join(f"{s:.2f}s" for s in runs) + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=10000)
    parser.add_argument("--frames", type=int, default=2048)
    parser.add_argument("--text-model", default=None, help="default: embedding.model")
    parser.add_argument("--image-model", default=None, help="default: image_embedding.model")
    parser.add_argument("--arrow-rows", type=int, default=10000, help="rows per Arrow batch")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import torch

    choice = choose_device()
    if not choice.device.startswith("cuda"):
        raise SystemExit("no CUDA device: this benchmark compares a GPU with the CPU")
    local, gpu = load_config("local"), load_config("gpu")
    text_model = args.text_model or local.embedding.model
    image_model = args.image_model or local.image_embedding.model
    print(
        f"device={choice.device} ({torch.cuda.get_device_name(0)}, {choice.dtype_name}) "
        f"torch={torch.__version__} cpu_threads={torch.get_num_threads()} "
        f"cores={os.cpu_count()}"
    )
    texts = catalogue_texts(args.texts)
    images = frames(args.frames)
    print(f"texts={len(texts)} model={text_model}; frames={len(images)} model={image_model}")

    # Each device with its profile's rows per model call, raised to the batch size so that
    # a large batch is really one model call.
    def text_udf(device: str, batch: int) -> Embed:
        per_call = max((local if device == "cpu" else gpu).embedding.texts_per_call, batch)
        return lambda batches: embed_text_batches(batches, text_model, device, batch, per_call)

    def image_udf(device: str, batch: int) -> Embed:
        per_call = max((local if device == "cpu" else gpu).image_embedding.images_per_call, batch)
        return lambda batches: embed_image_batches(batches, image_model, device, batch, per_call)

    text_gain = bench_modality(
        "text ",
        "texts",
        text_udf,
        texts,
        local.embedding.batch_size,
        sorted({gpu.embedding.batch_size, 128, 2048}),
        args,
    )
    image_gain = bench_modality(
        "image",
        "frames",
        image_udf,
        images,
        local.image_embedding.batch_size,
        sorted({gpu.image_embedding.batch_size, 64, 1024}),
        args,
    )
    print(f"gpu/cpu: text x{text_gain:.1f}, image x{image_gain:.1f}")
    print(f"ratio={min(text_gain, image_gain):.2f}")


if __name__ == "__main__":
    main()
