"""A landing day is complete only when every source's folder holds the producer's marker;
sample_data marks the days it writes; a day of only markers is a quiet day for the ingest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from contentlake.landing import collect_landing_day
from contentlake.landing_ready import (
    LANDING_SOURCES,
    MARKER,
    Readiness,
    mark_complete,
    marker_path,
    readiness,
)
from contentlake.sample_data import SampleSpec, catalog_path, events_path, generate

DAY = date(2026, 11, 1)


def test_a_day_without_any_folder_is_not_ready(tmp_path: Path) -> None:
    state = readiness(tmp_path, DAY)
    assert state == Readiness(run_date=DAY, complete=(), incomplete=("catalog", "events"))
    assert not state.ready


def test_files_without_a_marker_are_still_arriving(tmp_path: Path) -> None:
    for source in LANDING_SOURCES:
        folder = tmp_path / source / "date=2026-11-01"
        folder.mkdir(parents=True)
        (folder / "part-00000.csv").write_text("a\n1\n")
    assert readiness(tmp_path, DAY).incomplete == ("catalog", "events")


def test_one_marked_source_is_not_enough(tmp_path: Path) -> None:
    marker = mark_complete(tmp_path, "catalog", DAY)
    assert marker == tmp_path / "catalog" / "date=2026-11-01" / "_SUCCESS"
    state = readiness(tmp_path, DAY)
    assert (state.complete, state.incomplete, state.ready) == (("catalog",), ("events",), False)
    assert state.describe(tmp_path) == (
        f"landing day 2026-11-01 is not complete yet: no {marker_path(tmp_path, 'events', DAY)}"
    )


def test_every_source_marked_is_ready_and_other_days_are_not(tmp_path: Path) -> None:
    for source in LANDING_SOURCES:
        mark_complete(tmp_path, source, DAY)
    state = readiness(tmp_path, DAY)
    assert state.ready and state.complete == ("catalog", "events")
    assert state.describe(tmp_path) == "landing day 2026-11-01 is complete (catalog, events)"
    assert not readiness(tmp_path, date(2026, 11, 2)).ready


def test_a_folder_named_like_the_marker_does_not_count(tmp_path: Path) -> None:
    (tmp_path / "catalog" / "date=2026-11-01" / MARKER).mkdir(parents=True)
    assert readiness(tmp_path, DAY, sources=("catalog",)).incomplete == ("catalog",)


def test_sample_data_marks_each_day_it_writes(tmp_path: Path) -> None:
    spec = SampleSpec(items=10, days=2, users=5, events_per_day=20, start_date=DAY)
    generate(tmp_path, spec)
    for day in spec.landing_dates():
        assert readiness(tmp_path, day).ready, day
        # The marker sits beside the data, and the data was written before it.
        for source, data in (("catalog", catalog_path), ("events", events_path)):
            marker = marker_path(tmp_path, source, day)
            assert marker.read_bytes() == b""
            assert data(tmp_path, day).stat().st_mtime_ns <= marker.stat().st_mtime_ns
    assert not readiness(tmp_path, date(2026, 11, 3)).ready


def test_a_day_of_only_markers_is_a_quiet_day_for_the_ingest(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for source in LANDING_SOURCES:
        mark_complete(landing, source, DAY)
    assert readiness(landing, DAY).ready
    day = collect_landing_day(landing, tmp_path / "dead", "events", DAY, ("*.csv",))
    assert (day.readable, day.dead_letters) == ((), ())
    assert day.details() == {"landing_files": "0"}
    # The marker is left in place, not dead-lettered as an unsupported file.
    assert marker_path(landing, "events", DAY).is_file()
    assert not (tmp_path / "dead").exists()
