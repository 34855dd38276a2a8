"""Landing files: probing, dead-lettering and confinement to the landing root (no Spark)."""

import gzip
import json
import logging
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contentlake.landing import (
    DeadLetter,
    LandingError,
    collect_landing_day,
    dead_lettered,
    file_format,
    parquet_columns,
    probe,
    read_csv_header,
)

RUN_DATE = date(2026, 11, 1)
HEADER = "event_id,user_id,content_id,event_type,event_ts,watch_seconds,device\n"
ROW = "e1,u1,c1,play,2026-11-01T10:00:00Z,,tv\n"


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def truncated_gzip(text):
    packed = gzip.compress(text.encode())
    return packed[: len(packed) - 12]


def a_parquet_file(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"event_id": ["e1"], "watch_seconds": [1.5]}), path)
    return path


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("ok.csv", HEADER + ROW),
        ("ok.csv.gz", gzip.compress((HEADER + ROW).encode())),
        ("crlf.csv", (HEADER + ROW).replace("\n", "\r\n")),
        ("upper-case.CSV.GZ", gzip.compress((HEADER + ROW).encode())),
        ("ok.jsonl", '{"a": 1}\n{"a": 2}'),
        ("bad-line-inside.jsonl", '{"a": \n{"a": 2}\n'),
        ("bad-last-line-with-newline.jsonl", '{"a": 1}\n{"a": \n'),
        ("empty.jsonl", ""),
        ("utf8.jsonl", '{"title": "Café ☕"}\n'),
    ],
)
def test_readable_files_pass_the_probe(tmp_path, name, data):
    assert probe(write(tmp_path / name, data)) is None


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("cut.csv.gz", truncated_gzip(HEADER + ROW * 50), "unreadable gzip: Compressed file ended"),
        ("not-gzip.csv.gz", HEADER + ROW, "unreadable gzip: Not a gzipped file"),
        ("latin1.csv", (HEADER + "e1,u1,c1,play,Caf\xe9,,tv\n").encode("latin-1"), "not UTF-8"),
        ("utf16.csv", (HEADER + ROW).encode("utf-16"), "not UTF-8 text: invalid byte at byte 0"),
        ("nul.csv", HEADER + "e1\0,u1\n", "binary content: NUL byte at byte 71"),
        ("empty.csv", "", "empty file: no CSV header row"),
        ("cut.jsonl", '{"a": 1}\n{"a": 2, "b', "truncated: the last line is cut mid-record"),
        ("cut.jsonl.gz", gzip.compress(b'{"a": 1}\n{"a": 2, "b'), "truncated: the last line"),
        ("half-char.jsonl", b'{"a": "caf' + "é".encode()[:1], "not UTF-8 text"),
        ("events.csv.bz2", HEADER + ROW, "unsupported file type '.bz2'"),
        ("no-trailing-newline.csv", HEADER + ROW.rstrip("\n"), "truncated: the last row has no"),
        ("cut-row.csv", HEADER + ROW + "e2,u1,c1,pl", "truncated: the last row has no"),
        ("header-only-cut.csv", HEADER.rstrip("\n"), "truncated: the last row has no"),
        ("cut.csv.gz", gzip.compress((HEADER + ROW + "e2,u1").encode()), "truncated: the last row"),
        ("broken.parquet", b"PAR1 not really parquet", "unreadable Parquet:"),
    ],
)
def test_unreadable_files_get_a_specific_reason(tmp_path, name, data, reason):
    assert probe(write(tmp_path / name, data)).startswith(reason)


def test_a_parquet_file_cut_short_is_unreadable_and_a_whole_one_is_not(tmp_path):
    whole = a_parquet_file(tmp_path / "whole.parquet")
    cut = write(tmp_path / "cut.parquet", whole.read_bytes()[:-20])
    assert probe(whole) is None
    assert probe(cut).startswith("unreadable Parquet:")
    assert parquet_columns(whole) == ["event_id", "watch_seconds"]


def test_csv_header_is_read_through_gzip_and_a_bom(tmp_path):
    plain = write(tmp_path / "a.csv", "\ufeffevent_id, Extra ,device\nx,y,z\n")
    packed = write(tmp_path / "b.csv.gz", gzip.compress(b"event_id,device\n"))
    assert read_csv_header(plain) == ["event_id", " Extra ", "device"]
    assert read_csv_header(packed) == ["event_id", "device"]
    assert read_csv_header(write(tmp_path / "c.csv", "")) == []


def test_file_format_looks_through_gzip():
    from pathlib import Path

    assert [file_format(Path(n)) for n in ("a.csv.gz", "b.jsonl", "c.json.gz", "d.parquet")] == [
        "csv",
        "json",
        "json",
        "parquet",
    ]


def landing_layout(tmp_path):
    landing = tmp_path / "landing"
    return landing, landing / "_dead_letter", landing / "events" / "date=2026-11-01"


def collect(landing, dead_letter):
    return collect_landing_day(landing, dead_letter, "events", RUN_DATE, ("*.csv*", "*.parquet"))


def test_unreadable_files_move_to_dead_letter_with_a_sidecar_and_a_warning(tmp_path, caplog):
    landing, dead_letter, day = landing_layout(tmp_path)
    good = write(day / "a.csv", HEADER + ROW)
    write(day / "b.csv.gz", truncated_gzip(HEADER + ROW * 50))
    write(day / ".c.csv.uploading", "partial")
    write(day / "_SUCCESS", "")

    with caplog.at_level(logging.WARNING, logger="contentlake.landing"):
        result = collect(landing, dead_letter)

    letters = dead_letter / "events" / "date=2026-11-01"
    assert result.readable == (good,)
    assert [d.name for d in result.dead_letters] == ["b.csv.gz"]
    assert sorted(p.name for p in letters.iterdir()) == ["b.csv.gz", "b.csv.gz.reason.json"]
    sidecar = json.loads((letters / "b.csv.gz.reason.json").read_text())
    assert sidecar["file"] == "b.csv.gz"
    assert sidecar["source"] == "events"
    assert sidecar["landing_path"] == str(day / "b.csv.gz")
    assert sidecar["reason"].startswith("unreadable gzip: Compressed file ended")
    assert not (day / "b.csv.gz").exists()
    assert "dead-lettered landing file" in caplog.text and "b.csv.gz" in caplog.text
    assert result.details() == {
        "dead_letter_files": "1",
        "dead_letter.b.csv.gz": sidecar["reason"],
    }


def test_a_rerun_reports_the_same_day_from_the_dead_letter_folder(tmp_path):
    landing, dead_letter, day = landing_layout(tmp_path)
    write(day / "a.csv", HEADER + ROW)
    write(day / "b.csv", b"\xff\xfe")
    first = collect(landing, dead_letter)
    second = collect(landing, dead_letter)
    assert second == first
    assert dead_lettered(dead_letter / "events" / "date=2026-11-01") == [
        DeadLetter("b.csv", "not UTF-8 text: invalid byte at byte 0")
    ]


def test_a_file_put_back_for_replay_is_read_and_no_longer_reported(tmp_path):
    landing, dead_letter, day = landing_layout(tmp_path)
    write(day / "a.csv", HEADER + ROW)
    write(day / "b.csv", "")
    collect(landing, dead_letter)
    write(day / "b.csv", HEADER + ROW)  # repaired and replayed
    replayed = collect(landing, dead_letter)
    assert [p.name for p in replayed.readable] == ["a.csv", "b.csv"]
    assert replayed.dead_letters == ()


def test_a_day_whose_every_file_is_unreadable_fails_clearly_then_and_on_rerun(tmp_path):
    landing, dead_letter, day = landing_layout(tmp_path)
    write(day / "only.csv.gz", truncated_gzip(HEADER + ROW * 50))
    for _ in range(2):
        with pytest.raises(LandingError, match=r"every event landing file .* \(only\.csv\.gz\)"):
            collect(landing, dead_letter)


@pytest.mark.parametrize("folder_exists", [False, True])
def test_a_day_without_landing_files_is_a_quiet_day(tmp_path, caplog, folder_exists):
    landing, dead_letter, day = landing_layout(tmp_path)
    if folder_exists:
        write(day / "_SUCCESS", "")
    with caplog.at_level(logging.WARNING, logger="contentlake.landing"):
        result = collect(landing, dead_letter)
    assert (result.readable, result.dead_letters) == ((), ())
    assert result.details() == {"landing_files": "0"}
    assert "no event landing files for 2026-11-01" in caplog.text


def test_upper_case_extensions_are_landing_files(tmp_path):
    landing, dead_letter, day = landing_layout(tmp_path)
    names = ["A.CSV.GZ", "B.Parquet", "C.Csv"]
    write(day / names[0], gzip.compress((HEADER + ROW).encode()))
    a_parquet_file(day / names[1])
    write(day / names[2], HEADER + ROW)
    result = collect(landing, dead_letter)
    assert [p.name for p in result.readable] == names
    assert result.dead_letters == ()

    catalog = landing / "catalog" / "date=2026-11-01"
    write(catalog / "part-0.JSONL", '{"a": 1}\n')
    write(catalog / "part-1.Json.GZ", gzip.compress(b'{"a": 1}\n'))
    day_of_catalog = collect_landing_day(landing, dead_letter, "catalog", RUN_DATE, ("*.json*",))
    assert [p.name for p in day_of_catalog.readable] == ["part-0.JSONL", "part-1.Json.GZ"]


def test_a_file_matching_no_pattern_is_dead_lettered_not_ignored(tmp_path):
    landing, dead_letter, day = landing_layout(tmp_path)
    good = write(day / "a.csv", HEADER + ROW)
    write(day / "notes.txt", "upstream README")
    result = collect(landing, dead_letter)
    reason = "unsupported file type '.txt': event landing files match *.csv*, *.parquet"
    assert result.readable == (good,)
    assert result.dead_letters == (DeadLetter("notes.txt", reason),)
    assert (dead_letter / "events" / "date=2026-11-01" / "notes.txt").exists()
    assert result.details() == {"dead_letter_files": "1", "dead_letter.notes.txt": reason}


def test_a_day_of_only_unsupported_files_fails_clearly(tmp_path):
    landing, dead_letter, day = landing_layout(tmp_path)
    write(day / "events.xlsx", "PK")
    with pytest.raises(LandingError, match=r"every event landing file .* \(events\.xlsx\)"):
        collect(landing, dead_letter)


def test_a_symlink_out_of_the_landing_root_is_refused(tmp_path):
    landing, dead_letter, day = landing_layout(tmp_path)
    outside = write(tmp_path / "elsewhere" / "secret.csv", HEADER + ROW)
    day.mkdir(parents=True)
    (day / "linked.csv").symlink_to(outside)
    with pytest.raises(LandingError, match=r"linked\.csv resolves to .*outside the landing root"):
        collect(landing, dead_letter)
    assert outside.exists()


def test_a_day_folder_linked_out_of_the_landing_root_is_refused(tmp_path):
    landing, dead_letter, day = landing_layout(tmp_path)
    write(tmp_path / "elsewhere" / "a.csv", HEADER + ROW)
    day.parent.mkdir(parents=True)
    day.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(LandingError, match="outside the landing root"):
        collect(landing, dead_letter)
