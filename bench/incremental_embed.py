"""A 1% catalogue change against a full embed of every modality, side by side.

    python bench/incremental_embed.py [--items 1000] [--changed 0.01]      # tiny models
    python bench/incremental_embed.py --items 10000 --real-models --changed 0.005
        # MiniLM and Lite0, 1% of the catalogue changed (0.5% retitled, 0.5% re-cut)

Generates (under a temp folder unless ``--root``) one landing day of ``--items`` items with
a poster and an H.264 video for the first ``--media-items`` playable ones
(``contentlake.sample_data``, no bad rows), ingests it, then times a full embed: every
embedding job of the daily pipeline in order (``EMBED_JOBS``: keyframes, text, visual,
behaviour, fusion) on an empty ``content_embeddings``.

Then ``--changed`` of the catalogue changes on a second landing day: that share of items
gets a new title and description, and as many other items with media get a new video and
a new poster (new files under new URIs, as a producer replacing a trailer would publish
them). No new events. ``ingest_catalog`` lands the day and the same jobs run again, timed.

What the rerun must re-do, checked before the figures are printed: keyframes of the new
files only, text vectors of the retitled items only, visual vectors of the re-cut items
only, no ALS fit (the ratings are unchanged) and fused vectors of the changed items and of
the items whose missing blocks are filled from their groups.

Models: tiny random-weight text and image models by default (``bench/modalities.py``
``tiny_models``, built from configs in seconds), so that a catalogue of a thousand
items or more, where a 1% change is ten items or more, fits in minutes on two cores; a
real model only makes the full embed dearer and the ratio smaller. What a rerun still
costs is mostly per job, not per item (a Python worker and its model per task, each
MERGE, the table's checks, the run's bookkeeping; printed per job), so the ratio falls as
the catalogue grows. ``--real-models`` uses the configured defaults
(all-MiniLM-L6-v2, EfficientNet-Lite0), ``--text-model`` / ``--image-model`` name others.
The last line is ``ratio=<rerun seconds / full seconds>`` over the embedding jobs (ingest
excluded), both measured in this run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from contentlake.jobs import (
    embed_behaviour,
    embed_content,
    embed_media,
    extract_keyframes,
    fuse_vectors,
    ingest_catalog,
    ingest_events,
)
from modalities import tiny_models  # bench/ is the script's folder, first on sys.path
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.landing_ready import mark_complete
from contentlake.sample_data import SampleSpec, catalog_path, generate
from contentlake.sample_media import (
    POSTER_FOLDER,
    VIDEO_FOLDER,
    encode_png,
    encode_video,
    poster_image,
    render_frames,
    video_plan,
)
from contentlake.session import build_spark
from contentlake.tables import ensure_tables

EMBED_JOBS = {
    "extract_keyframes": extract_keyframes,
    "embed_content": embed_content,
    "embed_media": embed_media,
    "embed_behaviour": embed_behaviour,
    "fuse_vectors": fuse_vectors,
}
DATABASE = "bench_incremental_embed"


def latest_records(landing: Path, day: date) -> dict[str, dict[str, Any]]:
    """The day's good catalogue records by content id (the sample's good ids only)."""
    records = {}
    for line in catalog_path(landing, day).read_text().splitlines():
        record = json.loads(line)
        records[record["content_id"]] = record
    return records


def change_day(
    landing: Path, records: dict[str, dict[str, Any]], day: date, share: float, seed: int
) -> tuple[list[str], list[str]]:
    """Write ``day``'s catalogue: ``share`` of the items retitled, as many other items with
    media re-cut (new video and poster files, new URIs). Returns both id lists."""
    ids = sorted(records)
    count = max(1, round(len(ids) * share))
    step = len(ids) // count
    retitled = ids[::step][:count]
    with_media = [cid for cid in ids if records[cid].get("video_uri") and cid not in retitled]
    recut = with_media[step // 2 :: max(1, len(with_media) // count)][:count]
    stamp = f"{day.isoformat()}T06:00:00Z"
    lines = []
    for cid in retitled:
        record = dict(records[cid], updated_at=stamp)
        record["title"] = f"{record['title']} (restored)"
        record["description"] = f"Restored and remastered. {record['description']}"
        lines.append(json.dumps(record))
    for cid in recut:
        record = dict(records[cid], updated_at=stamp)
        # Another seed: other cuts, shot looks and poster band than the first cut had.
        video = f"{VIDEO_FOLDER}/{cid}-v2.mp4"
        poster = f"{POSTER_FOLDER}/{cid}-v2.png"
        (landing / video).write_bytes(encode_video(render_frames(video_plan(seed + 1, record))))
        (landing / poster).write_bytes(encode_png(poster_image(seed + 1, record)))
        record["video_uri"], record["poster_uri"] = video, f"landing://{poster}"
        lines.append(json.dumps(record))
    path = catalog_path(landing, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    mark_complete(landing, "catalog", day)
    return retitled, recut


def timed_jobs(spark, cfg, run_date: date, label: str) -> dict[str, tuple[float, Any]]:
    figures = {}
    for name, job in EMBED_JOBS.items():
        start = time.perf_counter()
        result = job.run(spark, cfg, run_date, f"bench_{label}__{run_date.isoformat()}")
        figures[name] = (time.perf_counter() - start, result)
        spent = result.clock.summary()
        print(
            f"  {label:<6} {name:<18} {figures[name][0]:7.2f}s  "
            f"in {result.rows_in:>5}  written {result.rows_written:>5}  "
            f"(commits {spent['commit_s']:.1f}s, checks {spent['dq_s']:.1f}s, "
            f"bookkeeping {spent['bookkeeping_s']:.1f}s, rest {spent['other_s']:.1f}s)",
            flush=True,
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--media-items", type=int, default=None, help="default: --items")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--events", type=int, default=20000, help="events on the landing day")
    parser.add_argument("--changed", type=float, default=0.01, help="share of items changed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--text-model", default=None, help="default: embedding.model")
    parser.add_argument("--image-model", default=None, help="default: image_embedding.model")
    parser.add_argument(
        "--real-models", action="store_true", help="the configured models, not tiny ones"
    )
    parser.add_argument("--root", default=None)
    args = parser.parse_args(argv)

    root = Path(args.root or tempfile.mkdtemp(prefix="incremental-embed-"))
    overrides: dict[str, Any] = {"database": DATABASE}
    if not args.real_models:
        overrides |= tiny_models(Path(tempfile.mkdtemp(prefix="incremental-tiny-")))
    if args.text_model:
        overrides["embedding"] = {"model": args.text_model}
    if args.image_model:
        overrides["image_embedding"] = {"model": args.image_model}
    cfg = load_config("local", root=root, overrides=overrides)
    spec = SampleSpec(
        items=args.items,
        days=1,
        users=args.users,
        events_per_day=args.events,
        seed=args.seed,
        bad_share=0.0,
        media_items=args.items if args.media_items is None else args.media_items,
    )
    start = time.perf_counter()
    generate(cfg.paths.landing, spec)
    print(
        f"generated {spec.items} items, {spec.media_items} with media: "
        f"{time.perf_counter() - start:.1f}s",
        flush=True,
    )
    first, second = spec.start_date, spec.start_date + timedelta(days=1)

    spark = build_spark(cfg)
    try:
        spark.sql(f"drop database if exists {DATABASE} cascade")
        ensure_tables(spark, cfg)
        ingest_catalog.run(spark, cfg, first)
        ingest_events.run(spark, cfg, first)
        items = spark.table("content").count()
        print(
            f"{items} items in content, models: {cfg.embedding.model}, {cfg.image_embedding.model}",
            flush=True,
        )
        full = timed_jobs(spark, cfg, first, "full")

        retitled, recut = change_day(
            cfg.paths.landing,
            latest_records(cfg.paths.landing, first),
            second,
            args.changed,
            args.seed,
        )
        start = time.perf_counter()
        landed = ingest_catalog.run(spark, cfg, second)
        ingest_s = time.perf_counter() - start
        print(
            f"changed: {len(retitled)} retitled, {len(recut)} re-cut; "
            f"ingest_catalog {ingest_s:.2f}s ({landed.rows_written} rows)",
            flush=True,
        )
        rerun = timed_jobs(spark, cfg, second, "rerun")
        check_rerun(spark, rerun, second, retitled, recut)

        print(f"\n{'job':<18} {'full s':>8} {'rerun s':>8} {'ratio':>7}")
        for name in EMBED_JOBS:
            full_s, rerun_s = full[name][0], rerun[name][0]
            print(f"{name:<18} {full_s:8.2f} {rerun_s:8.2f} {rerun_s / full_s:7.3f}")
        full_total = sum(s for s, _ in full.values())
        rerun_total = sum(s for s, _ in rerun.values())
        print(f"{'total':<18} {full_total:8.2f} {rerun_total:8.2f}")
        print(f"ratio={rerun_total / full_total:.3f}")
    finally:
        spark.stop()
    return 0


def check_rerun(
    spark, rerun: dict[str, tuple[float, Any]], run_date: date, retitled, recut
) -> None:
    """The rerun re-did exactly the changed items' work (else its time means nothing)."""
    results = {name: result for name, (_, result) in rerun.items()}
    keyframes = results["extract_keyframes"]
    assert (keyframes.rows_in, keyframes.rows_written) == (2 * len(recut),) * 2, keyframes
    assert results["embed_content"].rows_written == len(retitled), results["embed_content"]
    assert results["embed_media"].rows_written == len(recut), results["embed_media"]
    assert results["embed_behaviour"].details["fitted"] == "False", results["embed_behaviour"]
    fused = results["fuse_vectors"].rows_written
    changed = set(retitled) | set(recut)
    rewritten = {
        row.content_id
        for row in spark.table("content_embeddings")
        .filter((F.col("modality") == "fused") & (F.col("embedded_date") == run_date))
        .select("content_id")
        .collect()
    }
    assert changed <= rewritten and len(rewritten) == fused, (fused, sorted(changed))
    print(
        f"rerun re-did: {2 * len(recut)} media files, {len(retitled)} texts, "
        f"{len(recut)} visual vectors, no ALS fit, {fused} fused vectors "
        f"({fused - len(changed)} filled from a changed group)",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
