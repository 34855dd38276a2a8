"""Logging set-up and stage timings, so long runs say where their time goes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT)
    # py4j logs every gateway call at INFO; that drowns the stage timings.
    logging.getLogger("py4j").setLevel(logging.WARNING)


@contextmanager
def timed_stage(logger: logging.Logger, stage: str) -> Iterator[None]:
    """Log when ``stage`` starts and how long it took."""
    logger.info("%s: started", stage)
    started = time.perf_counter()
    try:
        yield
    finally:
        logger.info("%s: %.1fs", stage, time.perf_counter() - started)
