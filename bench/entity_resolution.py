"""Entity resolution measured against the planted truth of the sample catalogue.

    python bench/entity_resolution.py                    # 2000 items, 150 groups, MiniLM
    python bench/entity_resolution.py --items 300 --groups 30 --tiny   # smoke run

Generates one landing day with ``duplicate_groups`` (``contentlake.sample_entities``: copies
under new ids with edited or translated titles, shifted running times, coarser release
dates, the same video file; and as many hard negatives: sequels, remakes, trailers, episodes
of one series), ingests it and embeds its text (``ingest_catalog``, ``embed_content``), then
runs the resolution of ``jobs/resolve_entities.py`` with the default ``entities`` settings
(``--modality`` text unless told) and compares it with ``_entities.json``:

* pairwise precision, recall and F1 over the pairs of ids put in one entity;
* cluster precision and recall: predicted entities of two or more ids that are exactly a
  planted group, planted groups found exactly;
* the blocking's candidate recall: planted pairs among the scored candidates, per source;
* recall per kind of copy, hard negatives merged, and the seconds of each step.

The last line is ``ratio=<pairwise F1>`` (goal: >= 0.95 with precision >= 0.98).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from contentlake.jobs import embed_content, ingest_catalog
from contentlake.jobs.resolve_entities import catalogue_items, resolve

from contentlake.config import load_config
from contentlake.modality_versions import indexed_model_version
from contentlake.sample_data import SampleSpec, generate
from contentlake.sample_entities import load_entities_truth, true_pairs
from contentlake.session import build_spark
from contentlake.tables import ensure_tables, table_version

START = date(2026, 11, 1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=150)
    parser.add_argument("--media-items", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--modality", default="text", choices=("text",))
    parser.add_argument("--tiny", action="store_true", help="a tiny random text model")
    parser.add_argument("--keep", type=Path, default=None, help="lakehouse folder to keep")
    return parser.parse_args()


def prf(found: set, truth: set) -> tuple[float, float, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def cluster_pairs(clusters: dict[str, list[str]]) -> set[tuple[str, str]]:
    pairs = set()
    for ids in clusters.values():
        ids = sorted(ids)
        pairs |= {(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]}
    return pairs


def main() -> int:
    args = parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-entities-"))
    overrides: dict = {"database": "bench_entities"}
    if args.tiny:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from conftest import save_tiny_model

        overrides["embedding"] = {"model": save_tiny_model(root / "tiny", seed=0)}
    cfg = load_config(profile="local", root=root, overrides=overrides)
    spec = SampleSpec(
        items=args.items,
        days=1,
        start_date=START,
        users=50,
        events_per_day=200,
        seed=args.seed,
        bad_share=0.0,
        media_items=args.media_items,
        duplicate_groups=args.groups,
    )
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    generate(cfg.paths.landing, spec)
    seconds["generate"] = time.perf_counter() - started
    truth = load_entities_truth(cfg.paths.landing)
    spark = build_spark(cfg)
    try:
        spark.sparkContext.setLogLevel("ERROR")
        spark.sql(f"drop database if exists {cfg.database} cascade")
        ensure_tables(spark, cfg)
        for name, job in (("ingest", ingest_catalog), ("embed", embed_content)):
            started = time.perf_counter()
            job.run(spark, cfg, START, f"bench__{name}")
            seconds[name] = time.perf_counter() - started
        versions = {t: table_version(spark, t) for t in ("content", "content_embeddings")}
        settings = cfg.entities
        model_version = indexed_model_version(
            spark, cfg, args.modality, versions["content_embeddings"]
        )
        items_df = catalogue_items(spark, args.modality, model_version, versions).cache()
        items = items_df.count()
        previous_df = spark.createDataFrame([], "content_id string, canonical_id string")
        started = time.perf_counter()
        resolution = resolve(items_df, previous_df, settings, START)
        seconds["resolve"] = time.perf_counter() - started
        seconds.update({f"  {k}": v for k, v in resolution.seconds.items()})
        pairs = resolution.pairs_df.select("left_id", "right_id", "sources", "decision").collect()
        entities = resolution.entities_df.select("content_id", "canonical_id").collect()
    finally:
        spark.stop()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    clusters: dict[str, list[str]] = {}
    for row in entities:
        clusters.setdefault(row["canonical_id"], []).append(row["content_id"])
    predicted = cluster_pairs(clusters)
    planted = true_pairs(truth)
    precision, recall, f1 = prf(predicted, planted)
    candidates = {(r["left_id"], r["right_id"]): r["sources"] for r in pairs}
    groups = {tuple(sorted(g["ids"])) for g in truth["groups"]}
    found_groups = {tuple(sorted(ids)) for ids in clusters.values() if len(ids) > 1}
    c_precision, c_recall, c_f1 = prf(found_groups, groups)

    print(
        f"catalogue: {items} items, {len(truth['groups'])} planted groups "
        f"({len(planted)} true pairs), {len(truth['hard_negatives'])} hard negatives"
    )
    print(
        f"candidates: {resolution.keys} blocking keys, {len(candidates)} scored pairs "
        f"({len(candidates) / max(items, 1):.1f} per item; all pairs: {items * (items - 1) // 2})"
    )
    in_candidates = planted & set(candidates)
    print(f"candidate recall (blocking): {len(in_candidates) / len(planted):.4f}")
    for source in ("title", "title_word", "synopsis", "media", "ann"):
        by_source = {p for p in planted if source in candidates.get(p, [])}
        print(f"  proposed by {source:<10} {len(by_source) / len(planted):.4f}")
    decisions = Counter(r["decision"] for r in pairs)
    print(f"decisions: {dict(sorted(decisions.items()))}")
    print(f"pairwise: precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}")
    print(
        f"cluster (exact groups): precision {c_precision:.4f} recall {c_recall:.4f} F1 {c_f1:.4f}"
    )
    kinds: Counter = Counter()
    kinds_found: Counter = Counter()
    for group in truth["groups"]:
        for copy, kind in group["copies"].items():
            pair = tuple(sorted((group["original"], copy)))
            kinds[kind] += 1
            kinds_found[kind] += pair in predicted
    print("recall per kind of copy (original, copy merged):")
    for kind in sorted(kinds):
        share = kinds_found[kind] / kinds[kind]
        print(f"  {kind:<18} {kinds_found[kind]:>4}/{kinds[kind]:<4} {share:.4f}")
    merged_negatives = Counter(
        n["kind"] for n in truth["hard_negatives"] if tuple(n["ids"]) in predicted
    )
    negatives = Counter(n["kind"] for n in truth["hard_negatives"])
    print(
        "hard negatives merged: "
        + ", ".join(f"{k} {merged_negatives[k]}/{negatives[k]}" for k in sorted(negatives))
    )
    wrong = sorted(predicted - planted)[:10]
    if wrong:
        print(f"wrong merges (first 10): {wrong}")
    print("seconds: " + ", ".join(f"{k.strip()} {v:.1f}" for k, v in seconds.items()))
    print(f"ratio={f1:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
