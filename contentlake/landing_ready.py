"""Is a landing day complete? The producer's completion marker says so.

A producer writes a day's files into ``<landing>/<source>/date=YYYY-MM-DD/`` and, once every
file of that day is in place, an empty ``_SUCCESS`` file in the same folder (Hadoop's output
committer convention; the ingests skip ``_`` files as markers, ``contentlake/landing.py``). A
folder without the marker may still be growing: reading it would ingest the day half-way, so
the DAG's ``landing_ready`` sensor waits until every source of the day is marked.

A quiet day is a folder that holds only the marker: it is complete, and its ingest is a
no-op. Pure Python, no Spark or Airflow, so the sensor's poke is cheap and testable alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

MARKER = "_SUCCESS"
# Every source a daily run ingests: the run waits for all of them, so a day never lands with
# its catalogue but without its events (or the reverse).
LANDING_SOURCES = ("catalog", "events")


@dataclass(frozen=True)
class Readiness:
    """The day's sources with and without their completion marker."""

    run_date: date
    complete: tuple[str, ...]
    incomplete: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.incomplete

    def describe(self, landing_root: Path) -> str:
        """One log line: which folders the day still waits for."""
        if self.ready:
            return f"landing day {self.run_date} is complete ({', '.join(self.complete)})"
        waiting = ", ".join(
            str(marker_path(landing_root, source, self.run_date)) for source in self.incomplete
        )
        return f"landing day {self.run_date} is not complete yet: no {waiting}"


def marker_path(landing_root: Path, source: str, run_date: date) -> Path:
    # The layout of contentlake.landing.day_folder, not imported: that module needs pyarrow,
    # which the Airflow machine does not install.
    return Path(landing_root) / source / f"date={run_date.isoformat()}" / MARKER


def readiness(
    landing_root: Path, run_date: date, sources: Sequence[str] = LANDING_SOURCES
) -> Readiness:
    """Which of ``sources`` have the completion marker for ``run_date``."""
    marked = {source: marker_path(landing_root, source, run_date).is_file() for source in sources}
    return Readiness(
        run_date=run_date,
        complete=tuple(source for source in sources if marked[source]),
        incomplete=tuple(source for source in sources if not marked[source]),
    )


def mark_complete(landing_root: Path, source: str, run_date: date) -> Path:
    """Write the day's marker, as a producer does once the day's last file is in place."""
    marker = marker_path(landing_root, source, run_date)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return marker
