"""Serve the snapshot that ``CURRENT`` names, over HTTP, following it as it moves.

    python -m contentlake.serving --root ./lakehouse [--host 127.0.0.1 --port 8000]

The snapshots folder is the configuration's ``paths.snapshots`` (``--profile`` and
``--root`` as for every other tool), or ``--snapshots`` for a host that only receives
snapshots. One worker: the index is memory-mapped, so more processes on one host would
share its pages, but one event loop already keeps a core busy.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from contentlake.config import add_lakehouse_options, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_lakehouse_options(parser)
    parser.add_argument(
        "--snapshots",
        type=Path,
        default=None,
        help="snapshots folder (default: the configuration's paths.snapshots)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between checks of CURRENT"
    )
    parser.add_argument(
        "--search-params",
        default=None,
        help='faiss parameters over the manifest\'s, e.g. "efSearch=128" or "nprobe=32"',
    )
    parser.add_argument("--device", default="cpu", help="device of the query text model")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    cfg = load_config(profile=args.profile, root=args.root)
    snapshots = args.snapshots or cfg.paths.snapshots

    import faiss
    import uvicorn
    from threadpoolctl import threadpool_limits

    from contentlake.observability import configure_logging
    from contentlake.serving.app import create_app

    configure_logging()
    logging.getLogger("uvicorn.access").setLevel(
        logging.INFO if args.access_log else logging.WARNING
    )
    # One query per request: OpenMP and BLAS threads only add hand-off latency and, under
    # concurrent requests, oversubscribe the cores (a 4k x 384 matrix-vector product in a
    # filtered request took 3 ms with two OpenBLAS threads on a busy 2-core host, 0.15 ms
    # with one).
    faiss.omp_set_num_threads(1)
    threadpool_limits(limits=1)
    app = create_app(
        snapshots,
        poll_interval_s=args.poll_interval,
        search_params=args.search_params,
        device=args.device,
    )
    # log_config=None: uvicorn's lines go through the handler configure_logging set up.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        log_config=None,
        access_log=args.access_log,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
