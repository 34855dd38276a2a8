"""Where a job's seconds go: Delta commits, data-quality queries, bookkeeping, the rest.

A :class:`StageClock` is made current for the duration of a job (a context variable, so
two jobs running in threads of one session keep their own). Code anywhere below the job
marks its spans with :func:`timed`; a span inside another category's span counts only for
the outer one, so the categories never double-count (the bookkeeping commit is
bookkeeping, a query inside a gate's undo is data quality).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

CATEGORIES = ("commit", "dq", "bookkeeping")


@dataclass
class StageClock:
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0.0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    started: float = field(default_factory=time.perf_counter)
    wall: float | None = None
    _open: str | None = None

    def stop(self) -> None:
        self.wall = time.perf_counter() - self.started

    def summary(self) -> dict[str, float]:
        """Seconds and counts per category, the wall time and the remaining work."""
        wall = self.wall if self.wall is not None else time.perf_counter() - self.started
        figures: dict[str, float] = {"wall_s": wall}
        for category in CATEGORIES:
            figures[f"{category}_s"] = self.seconds[category]
            figures[f"{category}_n"] = self.counts[category]
        figures["other_s"] = wall - sum(self.seconds.values())
        return figures


_current: ContextVar[StageClock | None] = ContextVar("contentlake_stage_clock", default=None)


@contextmanager
def running(clock: StageClock) -> Iterator[StageClock]:
    """Make ``clock`` the current one until the block ends."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        clock.stop()
        _current.reset(token)


def count_spans(category: str, n: int) -> None:
    """Add ``n`` to the category's count on the current clock (spans timed as one, such as
    queries run concurrently)."""
    clock = _current.get()
    if clock is not None:
        clock.counts[category] += n


@contextmanager
def timed(category: str, count: bool = True) -> Iterator[None]:
    """One ``category`` span on the current clock, if any.

    Every span with ``count`` adds one to the category's count (a query, a commit); the
    seconds go to the outermost open span only, so nested spans never double-count time.
    """
    clock = _current.get()
    if clock is None:
        yield
        return
    if count:
        clock.counts[category] += 1
    if clock._open is not None:
        yield
        return
    clock._open = category
    started = time.perf_counter()
    try:
        yield
    finally:
        clock.seconds[category] += time.perf_counter() - started
        clock._open = None
