"""Index choice: our measured choice against autofaiss under the same memory budget.

    python bench/index_choice.py                       # 200k x 384, 64 MiB, ~10 min on 2 cores
    python bench/index_choice.py --vectors 20000 --budget-mib 8   # a quick look

Both sides index the same 200k x 384 unit vectors: a seeded Gaussian mixture (500 clusters
of uneven size and spread, grouped under 50 topics, noise with a decaying spectrum as
sentence embeddings have), so nearest neighbours sit at cosine ~0.8 and random pairs ~0.

- autofaiss 2.18 ``build_index`` runs in its own venv (``bench/autofaiss-requirements.txt``,
  created under ``bench/results/`` on first use, or ``--autofaiss-python``) with
  ``max_index_memory_usage`` = the budget and its default ``max_index_query_time_ms`` of
  10; its build time is measured around ``build_index`` inside that process.
- ours: ``choose_index`` over the default candidates with ``max_bytes`` = the same budget,
  ``max_p99_ms`` = the same 10 ms (as a p99, stricter than autofaiss's mean) and
  ``target_recall_at_10`` (0.96). Build time is the whole choice: exact neighbours of its
  held-out queries, every candidate trained, filled, tuned and timed.

The budget is 64 MiB, a fifth of the 307 MB of raw floats: Flat, HNSW and IVF-Flat do not
fit, so both must compress and the choice of compression is what is compared. autofaiss
spends it on ``OPQ256_512,IVF2048_HNSW32,PQ256x8``, whose recall is capped by PQ's error
(0.952 to 0.955 on this data, whatever the nprobe). The target is set just above that cap
because our chooser returns the smallest index meeting a target, so ``ratio >= 1`` says a
measured choice found, in the same budget, an index at least as accurate as autofaiss's
rule.

Both indexes are then judged by the same ``measure`` on 1,000 fresh queries from the same
mixture, not indexed and seen by neither side while choosing: recall@10 against exact
search, p50/p99 of single-thread single-query searches, serialised bytes. Both sides run
with ``OMP_WAIT_POLICY=PASSIVE``: on shared cores OpenMP's spinning threads otherwise make
faiss's small training kernels several times slower, for either side. The last line is
``ratio=<our recall@10 / autofaiss recall@10>``; the goal is >= 1.0 with our build time at
most theirs.
"""

from __future__ import annotations

import os

# Read once, when OpenMP starts (at the first faiss import): it must come first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from contentlake.index_choice import (  # noqa: E402
    NoIndexMeetsTargets,
    apply_search_params,
    choose_index,
    exact_neighbours,
    measure,
)

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
REQUIREMENTS = BENCH / "autofaiss-requirements.txt"
MAX_QUERY_MS = 10.0  # autofaiss's default max_index_query_time_ms

# Runs inside the autofaiss venv: build, time build_index alone, write what it chose.
AUTOFAISS_SCRIPT = """
import json, sys, time
from autofaiss import build_index
embeddings, index_path, infos_path, budget, cores, max_ms = sys.argv[1:]
start = time.perf_counter()
_, infos = build_index(
    embeddings=embeddings, index_path=index_path, index_infos_path=infos_path + ".autofaiss",
    max_index_memory_usage=budget, current_memory_available="8G", metric_type="ip",
    nb_cores=int(cores), max_index_query_time_ms=float(max_ms), verbose=30,
)
infos["build_s"] = time.perf_counter() - start
json.dump(infos, open(infos_path, "w"))
"""


def clustered_unit_vectors(
    n: int, dim: int, queries: int, seed: int, clusters: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` vectors and ``queries`` more from one seeded mixture, L2-normalised."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((max(clusters // 10, 1), dim)).astype(np.float32)
    centres = topics[rng.integers(0, len(topics), clusters)]
    centres = centres + 0.8 * rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.dirichlet(np.ones(clusters))
    basis = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
    # Variance falls off along the basis, as in real embeddings' spectra.
    spectrum = np.arange(1, dim + 1, dtype=np.float32) ** -0.7
    spectrum /= np.sqrt((spectrum**2).sum())
    spread = rng.uniform(0.7, 1.3, clusters).astype(np.float32)

    def draw(count: int) -> np.ndarray:
        labels = rng.choice(clusters, count, p=weights)
        noise = (rng.standard_normal((count, dim)).astype(np.float32) * spectrum) @ basis
        points = centres[labels] + spread[labels, None] * noise
        return points / np.linalg.norm(points, axis=1, keepdims=True)

    return draw(n), draw(queries)


def autofaiss_python(given: str | None) -> Path:
    """The autofaiss venv's interpreter, creating the venv on first use."""
    if given:
        return Path(given)
    venv = RESULTS / ".venv-autofaiss"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} from {REQUIREMENTS.name} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    return python


def run_autofaiss(python: str | None, workdir: Path, budget_mib: int, reuse: bool) -> dict:
    infos_path = workdir / "autofaiss.json"
    if reuse and infos_path.exists():
        print(f"autofaiss: reusing {infos_path}", flush=True)
        return json.loads(infos_path.read_text())
    interpreter = autofaiss_python(python)
    print("autofaiss: building ...", flush=True)
    subprocess.run(
        [
            str(interpreter), "-c", AUTOFAISS_SCRIPT, str(workdir / "embeddings"),
            str(workdir / "autofaiss.index"), str(infos_path), f"{budget_mib}MB",
            str(os.cpu_count()), str(MAX_QUERY_MS),
        ],
        check=True,
    )  # fmt: skip
    return json.loads(infos_path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--budget-mib", type=int, default=64)
    parser.add_argument("--target-recall", type=float, default=0.96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None, help="default: bench/results/index_choice-…")
    parser.add_argument("--autofaiss-python", default=None, help="an autofaiss venv's python")
    parser.add_argument(
        "--reuse-autofaiss",
        action="store_true",
        help="reuse the workdir's autofaiss build and its timing (same data and budget)",
    )
    args = parser.parse_args()

    name = f"index_choice-{args.vectors}x{args.dim}-{args.budget_mib}MiB-seed{args.seed}"
    workdir = Path(args.workdir) if args.workdir else RESULTS / name
    (workdir / "embeddings").mkdir(parents=True, exist_ok=True)
    vectors, queries = clustered_unit_vectors(args.vectors, args.dim, args.queries, args.seed)
    np.save(workdir / "embeddings" / "part-00000.npy", vectors)
    budget = args.budget_mib * 2**20  # autofaiss reads "64MB" as 64 MiB too
    truth = exact_neighbours(vectors, queries, 10, "inner_product")
    print(
        f"vectors={args.vectors}x{args.dim} queries={args.queries} budget={budget} bytes "
        f"max_p99_ms={MAX_QUERY_MS} target_recall@10={args.target_recall} "
        f"cores={os.cpu_count()} OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}",
        flush=True,
    )

    infos = run_autofaiss(args.autofaiss_python, workdir, args.budget_mib, args.reuse_autofaiss)
    theirs = faiss.read_index(str(workdir / "autofaiss.index"))
    apply_search_params(theirs, infos["index_param"])
    their_figures = measure(theirs, queries, truth, latency_queries=len(queries))

    print("ours: choosing ...", flush=True)
    start = time.perf_counter()
    try:
        choice = choose_index(
            vectors,
            "inner_product",
            target_recall_at_10=args.target_recall,
            max_bytes=budget,
            max_p99_ms=MAX_QUERY_MS,
        )
    except NoIndexMeetsTargets as failure:
        print(failure)
        print("ratio=0.000")
        return
    our_build_s = time.perf_counter() - start
    our_figures = measure(choice.index, queries, truth, latency_queries=len(queries))

    print("\ncandidates (measured on the chooser's own held-out items):")
    for figure in choice.figures:
        timing = f"  [build {figure.build_s}s, tune {figure.tune_s}s]" if figure.build_s else ""
        print(f"  {figure.summary()}{timing}")
    print(
        f"\n{'':10} {'index':36} {'params':30} {'recall@10':>9} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'bytes':>10} {'build s':>8}"
    )
    rows = [
        ("autofaiss", infos["index_key"], infos["index_param"], their_figures, infos["build_s"]),
        ("ours", choice.factory, choice.search_params, our_figures, our_build_s),
    ]
    for label, key, params, figures, build_s in rows:
        print(
            f"{label:10} {key:36} {params:30} {figures.recall_at_10:9.4f} "
            f"{figures.p50_ms:7.3f} {figures.p99_ms:7.3f} {figures.bytes:10d} {build_s:8.1f}"
        )
    print(f"ratio={our_figures.recall_at_10 / their_figures.recall_at_10:.3f}")


if __name__ == "__main__":
    main()
