"""Unit tests of the sample landing-file generator (no Spark: files are parsed by hand)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from contentlake.sample_data import (
    CATALOG_BAD_KINDS,
    CONTENT_TYPES,
    DEVICES,
    DURATION_RANGES,
    EVENT_BAD_KINDS,
    EVENT_COLUMNS,
    EVENT_TYPES,
    GENRES,
    LANGUAGES,
    WATCH_EVENT_TYPES,
    SampleSpec,
    catalog_path,
    events_path,
    expected_path,
    generate,
    load_expected,
    main,
    user_favourite_genres,
)

SPEC = SampleSpec(items=60, days=2, users=40, events_per_day=400, seed=11)
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate(root, SPEC)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _parse_ts(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, TS_FORMAT)
    except ValueError:
        return None


def _catalog_lines(root: Path, day: date) -> list[str]:
    return catalog_path(root, day).read_text(encoding="utf-8").splitlines()


def _event_rows(root: Path, day: date) -> list[dict[str, str]]:
    with events_path(root, day).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == EVENT_COLUMNS
        return list(reader)


def _catalog_defects(line: str, seen: set[str], day: date) -> list[str]:
    """Every defect of one catalogue line, judged from the file alone."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return ["malformed_json"]
    defects = []
    if line in seen:
        defects.append("duplicate_record")
    seen.add(line)
    if not record.get("content_id"):
        defects.append("missing_content_id")
    if not isinstance(record["duration_seconds"], int):
        defects.append("invalid_duration")
    if record["content_type"] not in CONTENT_TYPES:
        defects.append("invalid_content_type")
    if record["updated_at"][:10] != day.isoformat():
        defects.append("future_updated_at")
    return defects


def _event_defects(
    row: dict[str, str], seen: set[tuple[str, ...]], known_ids: set[str], day: date
) -> list[str]:
    """Every defect of one event row, judged against the good catalogue ids so far."""
    defects = []
    key = tuple(row[column] for column in EVENT_COLUMNS)
    if key in seen:
        defects.append("duplicate_event")
    seen.add(key)
    if not row["event_id"]:
        defects.append("missing_event_id")
    watch = row["watch_seconds"]
    if watch and not watch.lstrip("-").isdigit():
        defects.append("invalid_watch_seconds")
    elif watch and int(watch) < 0:
        defects.append("negative_watch_seconds")
    if row["content_id"] not in known_ids:
        defects.append("unknown_content_id")
    if row["event_type"] not in EVENT_TYPES:
        defects.append("invalid_event_type")
    ts = _parse_ts(row["event_ts"])
    if ts is None:
        defects.append("invalid_timestamp")
    elif ts.date() > day:
        defects.append("future_timestamp")
    return defects


def _good_catalog(root: Path) -> dict[str, dict[str, dict]]:
    """day -> {content_id: latest good record known as of that day} (cumulative)."""
    known: dict[str, dict] = {}
    by_day = {}
    for day in SPEC.landing_dates():
        seen: set[str] = set()
        for line in _catalog_lines(root, day):
            if not _catalog_defects(line, seen, day):
                record = json.loads(line)
                known[record["content_id"]] = record
        by_day[day.isoformat()] = dict(known)
    return by_day


def _good_events(root: Path, day: date, known_ids: set[str]) -> list[dict[str, str]]:
    seen: set[tuple[str, ...]] = set()
    return [row for row in _event_rows(root, day) if not _event_defects(row, seen, known_ids, day)]


def test_same_spec_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, SPEC)
    generate(second, SPEC)
    generate(other, replace(SPEC, seed=SPEC.seed + 1))
    assert _files(first) == _files(second)
    assert set(_files(first)) == set(_files(other))
    day = SPEC.start_date
    assert catalog_path(first, day).read_bytes() != catalog_path(other, day).read_bytes()
    assert events_path(first, day).read_bytes() != events_path(other, day).read_bytes()


def test_rerun_into_same_root_overwrites_identically(tmp_path: Path) -> None:
    generate(tmp_path, SPEC)
    before = _files(tmp_path)
    assert generate(tmp_path, SPEC) == load_expected(tmp_path)
    assert _files(tmp_path) == before


def test_layout_and_expected_file(landing: Path) -> None:
    expected = load_expected(landing)
    assert expected_path(landing).is_file()
    assert expected["spec"]["start_date"] == "2026-11-01"
    assert list(expected["days"]) == ["2026-11-01", "2026-11-02"]
    for day in SPEC.landing_dates():
        assert catalog_path(landing, day).is_file()
        assert events_path(landing, day).is_file()
        for source in ("catalog", "events"):
            counts = expected["days"][day.isoformat()][source]
            assert counts["rows"] == counts["good"] + sum(counts["bad"].values())


def test_catalog_rows_and_defects_match_expected(landing: Path) -> None:
    expected = load_expected(landing)["days"]
    for day in SPEC.landing_dates():
        counts = expected[day.isoformat()]["catalog"]
        lines = _catalog_lines(landing, day)
        seen: set[str] = set()
        defects = [_catalog_defects(line, seen, day) for line in lines]
        assert all(len(found) <= 1 for found in defects), "a bad row has more than one defect"
        assert len(lines) == counts["rows"]
        assert sum(not found for found in defects) == counts["good"]
        found_kinds = Counter(found[0] for found in defects if found)
        assert dict(found_kinds) == {k: v for k, v in counts["bad"].items() if v}
        assert set(counts["bad"]) == set(CATALOG_BAD_KINDS)
        assert all(counts["bad"][kind] >= 1 for kind in CATALOG_BAD_KINDS)


def test_event_rows_and_defects_match_expected(landing: Path) -> None:
    expected = load_expected(landing)["days"]
    catalog = _good_catalog(landing)
    for day in SPEC.landing_dates():
        counts = expected[day.isoformat()]["events"]
        known_ids = set(catalog[day.isoformat()])
        rows = _event_rows(landing, day)
        seen: set[tuple[str, ...]] = set()
        defects = [_event_defects(row, seen, known_ids, day) for row in rows]
        assert all(len(found) <= 1 for found in defects), "a bad row has more than one defect"
        assert len(rows) == counts["rows"]
        assert sum(not found for found in defects) == counts["good"]
        found_kinds = Counter(found[0] for found in defects if found)
        assert dict(found_kinds) == {k: v for k, v in counts["bad"].items() if v}
        assert set(counts["bad"]) == set(EVENT_BAD_KINDS)
        assert all(counts["bad"][kind] >= 1 for kind in EVENT_BAD_KINDS)
        bad_share = sum(counts["bad"].values()) / counts["rows"]
        assert bad_share < 0.05


def test_good_catalog_records_are_well_formed(landing: Path) -> None:
    expected = load_expected(landing)["days"]
    catalog = _good_catalog(landing)
    for day in SPEC.landing_dates():
        records = catalog[day.isoformat()]
        assert len(records) == expected[day.isoformat()]["catalog_ids"]
        for content_id, record in records.items():
            assert len(content_id) == 7 and content_id[1:].isdigit() and content_id < "c900000"
            assert 1 <= len(record["genres"]) <= 3 and set(record["genres"]) <= set(GENRES)
            assert record["tags"] and record["language"] in LANGUAGES
            assert date.fromisoformat(record["release_date"]) <= day
            assert _parse_ts(record["updated_at"]) is not None
            kind = record["content_type"]
            if kind == "series":
                assert record["duration_seconds"] == 0
            else:
                low, high = DURATION_RANGES[kind]
                assert low <= record["duration_seconds"] <= high
            if kind == "episode":
                assert records[record["series_id"]]["content_type"] == "series"
            else:
                assert record["series_id"] is None


def test_later_days_update_and_add_items(landing: Path) -> None:
    day1, day2 = SPEC.landing_dates()
    catalog = _good_catalog(landing)
    first = catalog[day1.isoformat()]
    second = catalog[day2.isoformat()]
    updated = [cid for cid in first if second[cid]["updated_at"] > first[cid]["updated_at"]]
    new = set(second) - set(first)
    assert updated and new
    assert all(second[cid]["description"] != first[cid]["description"] for cid in updated)


def test_good_events_are_well_formed_and_reference_catalog(landing: Path) -> None:
    catalog = _good_catalog(landing)
    event_ids: set[str] = set()
    for day in SPEC.landing_dates():
        records = catalog[day.isoformat()]
        events = _good_events(landing, day, set(records))
        assert abs(len(events) - SPEC.events_per_day) < 50
        for row in events:
            record = records[row["content_id"]]
            assert record["content_type"] != "series"
            assert _parse_ts(row["event_ts"]).date() == day
            assert row["device"] in DEVICES and row["user_id"].startswith("u")
            if row["event_type"] in WATCH_EVENT_TYPES:
                assert 0 <= int(row["watch_seconds"]) <= record["duration_seconds"]
            else:
                assert row["watch_seconds"] == ""
            event_ids.add(row["event_id"])
        assert {row["event_type"] for row in events} == set(EVENT_TYPES)
    total = sum(load_expected(landing)["days"][d]["events"]["good"] for d in catalog)
    assert len(event_ids) == total


def test_plays_follow_user_taste(landing: Path) -> None:
    favourites = user_favourite_genres(SPEC)
    assert len(favourites) == SPEC.users
    assert all(1 <= len(genres) <= 2 for genres in favourites.values())
    catalog = _good_catalog(landing)
    on_taste = plays = 0
    for day in SPEC.landing_dates():
        records = catalog[day.isoformat()]
        for row in _good_events(landing, day, set(records)):
            if row["event_type"] != "play":
                continue
            plays += 1
            on_taste += bool(
                set(records[row["content_id"]]["genres"]) & set(favourites[row["user_id"]])
            )
    assert plays > 50
    assert on_taste / plays > 0.6


def test_zero_bad_share_gives_clean_files(tmp_path: Path) -> None:
    spec = SampleSpec(items=20, days=1, users=5, events_per_day=50, bad_share=0.0)
    day = generate(tmp_path, spec)["days"]["2026-11-01"]
    assert day["catalog"]["rows"] == day["catalog"]["good"] == 20
    assert day["events"]["rows"] == day["events"]["good"]
    assert not any(day["events"]["bad"].values())


def test_spec_validation() -> None:
    with pytest.raises(ValueError):
        SampleSpec(items=0)
    with pytest.raises(ValueError):
        SampleSpec(bad_share=0.9)


def test_cli_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "landing"
    argv = ["--out", str(out), "--items", "30", "--days", "2", "--start-date", "2026-12-30"]
    argv += ["--users", "10", "--events-per-day", "100", "--seed", "3", "--bad-share", "0.05"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "2026-12-31" in printed
    expected = load_expected(out)
    assert expected["spec"]["seed"] == 3 and expected["spec"]["bad_share"] == 0.05
    for offset in range(2):
        day = date(2026, 12, 30) + timedelta(days=offset)
        assert catalog_path(out, day).is_file() and events_path(out, day).is_file()


def test_cli_rejects_invalid_spec(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as error:
        main(["--out", str(tmp_path), "--days", "0"])
    assert error.value.code == 2
