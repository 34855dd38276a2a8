"""Retry a Delta write that lost an optimistic-concurrency race.

Delta commits optimistically: a write reads a snapshot, writes its files and, at commit,
fails with a ``Concurrent*Exception`` if another writer committed something it should
have seen (two backfill dates MERGEing ``job_runs``, two ingests replacing their own
``_ingest_date`` rows of ``events``). Nothing of the failed attempt is visible, so the
write can run again against the new snapshot.

That is only safe for a whole idempotent unit: a MERGE, or a ``replaceWhere`` overwrite of
the run's own rows, whose DataFrame is re-planned (and so re-reads its tables) on every
attempt. Never wrap a blind append, and never pass DataFrames cached before the call.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)

from contentlake.config import WriteSettings
from contentlake.stage_clock import timed

T = TypeVar("T")

# Every commit conflict delta-spark's Python API converts; each means "nothing of this
# attempt was committed, a later snapshot exists".
COMMIT_CONFLICTS: tuple[type[Exception], ...] = (
    ConcurrentAppendException,
    ConcurrentDeleteReadException,
    ConcurrentDeleteDeleteException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    MetadataChangedException,
    ProtocolChangedException,
    DeltaConcurrentModificationException,
)

logger = logging.getLogger(__name__)


def backoff_delay(settings: WriteSettings, failed_attempts: int, jitter: float) -> float:
    """Seconds to wait after ``failed_attempts`` failures: ``backoff_seconds * 2^(n-1)``
    stretched by ``jitter`` (0..1) of itself, so racing writers do not retry in step."""
    return settings.backoff_seconds * 2 ** (failed_attempts - 1) * (1.0 + jitter)


def commit_with_retry(
    write: Callable[[], T],
    table: str,
    settings: WriteSettings,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """Run ``write`` and return its result, retrying it on a Delta commit conflict.

    At most ``settings.max_attempts`` attempts in all; each retry is logged at WARNING
    with the table, the attempt and the conflict; the last conflict is re-raised.
    """
    if settings.max_attempts < 1:
        raise ValueError(f"writes.max_attempts must be at least 1, got {settings.max_attempts}")
    for attempt in range(1, settings.max_attempts + 1):
        try:
            with timed("commit"):
                return write()
        except COMMIT_CONFLICTS as conflict:
            if attempt == settings.max_attempts:
                logger.error(
                    "write to %s: commit conflict on attempt %d of %d, giving up",
                    table,
                    attempt,
                    settings.max_attempts,
                )
                raise
            delay = backoff_delay(settings, attempt, jitter())
            logger.warning(
                "write to %s: commit conflict on attempt %d of %d (%s); retrying in %.2fs",
                table,
                attempt,
                settings.max_attempts,
                type(conflict).__name__,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises
