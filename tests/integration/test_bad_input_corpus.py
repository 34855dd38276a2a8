"""A handcrafted corpus of bad landing input: every kind of bad record is quarantined with
its own reason, every unreadable file is dead-lettered, and every broken contract stops the
job with a clear message, while each run still reconciles rows_in with what it wrote.

The ingests run once per landing day (plus one rerun), on real Spark and Delta.
"""

import csv
import dataclasses
import gzip
import io
import json
from datetime import date, datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from contentlake.jobs import ingest_catalog, ingest_events

from contentlake.config import IngestSettings, load_config
from contentlake.errors import JobFailed
from contentlake.tables import ensure_tables

D1, D2 = date(2026, 11, 1), date(2026, 11, 2)
MISSING_COLUMN_DAY, ALL_DEAD_DAY, SYMLINK_DAY = (
    date(2026, 11, 3),
    date(2026, 11, 4),
    date(2026, 11, 5),
)
TS = "2026-11-01T10:00:00Z"
EVENT_HEADER = [
    "event_id",
    "user_id",
    "content_id",
    "event_type",
    "event_ts",
    "watch_seconds",
    "device",
]


def item(content_id, **overrides):
    record = {
        "content_id": content_id,
        "content_type": "movie",
        "title": f"Title {content_id}",
        "description": "A film.",
        "genres": ["drama"],
        "tags": ["family"],
        "language": "en",
        "duration_seconds": 5400,
        "release_date": "2020-01-01",
        "updated_at": "2026-10-31T10:00:00Z",
        "series_id": None,
    }
    record.update(overrides)
    return json.dumps({k: v for k, v in record.items() if v is not ...})


def csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def cut_gzip(text):
    packed = gzip.compress(text.encode())
    return packed[: len(packed) // 2]


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


# Catalogue lines of D1 -> (record_key, reason); None: a valid line.
CATALOG_LINES = [
    (item("c1"), None),
    (item("c2", content_type="clip", duration_seconds=300), None),
    (item("c3", studio="Acme"), None),  # extra field: ignored, the item is still valid
    (item("c1"), ("c1", "duplicate_record")),
    (item(...), (None, "missing_content_id")),
    (item("c901", title="   "), ("c901", "missing_title")),
    (item("c902", content_type="podcast"), ("c902", "invalid_content_type")),
    (item("c903", duration_seconds="abc"), ("c903", "invalid_duration")),
    (item("c904", duration_seconds={"h": 1}), ("c904", "invalid_duration")),
    (item("c905", duration_seconds=-5), ("c905", "negative_duration")),
    (item("c906", genres="drama"), ("c906", "invalid_genres")),
    (item("c907", tags={"mood": "dark"}), ("c907", "invalid_tags")),
    (item("c908", release_date="2026-13-45"), ("c908", "invalid_release_date")),
    (item("c909", updated_at=...), ("c909", "missing_updated_at")),
    (item("c910", updated_at="yesterday"), ("c910", "invalid_updated_at")),
    (item("c911", updated_at="2027-01-01T00:00:00Z"), ("c911", "future_updated_at")),
    ('{"content_id": "c912", "title": "Cut", ', (None, "malformed_json")),
    ('["c913", "movie", "Array"]', (None, "malformed_json")),
    ("null", (None, "malformed_json")),
]

# Event rows of D1's CSV, whose header carries an extra "os" column -> expected outcome.
EVENT_ROWS = [
    (["ev1", "u1", "c1", "play", TS, "", "tv", "ios"], None),
    (["ev2", "u1", "c2", "pause", TS, "120.5", "tv", "ios"], None),
    (["", "u1", "c1", "play", TS, "", "tv", "ios"], (None, "missing_event_id")),
    (["ev4", "", "c1", "play", TS, "", "tv", "ios"], ("ev4", "missing_user_id")),
    (["ev5", "u1", " ", "play", TS, "", "tv", "ios"], ("ev5", "missing_content_id")),
    (["ev6", "u1", "c1", "hover", TS, "", "tv", "ios"], ("ev6", "invalid_event_type")),
    (["ev7", "u1", "c1", "play", "", "", "tv", "ios"], ("ev7", "missing_timestamp")),
    (["ev8", "u1", "c1", "play", "yesterday", "", "tv", "ios"], ("ev8", "invalid_timestamp")),
    (["ev9", "u1", "c1", "play", "1762000000", "", "tv", "ios"], ("ev9", "invalid_timestamp")),
    (
        ["ev10", "u1", "c1", "play", "2026-11-09T10:00:00Z", "", "tv", "ios"],
        ("ev10", "future_timestamp"),
    ),
    (["ev11", "u1", "c1", "pause", TS, "ten", "tv", "ios"], ("ev11", "invalid_watch_seconds")),
    (["ev12", "u1", "c1", "pause", TS, "NaN", "tv", "ios"], ("ev12", "invalid_watch_seconds")),
    (["ev13", "u1", "c1", "pause", TS, "Infinity", "tv", "ios"], ("ev13", "invalid_watch_seconds")),
    (["ev14", "u1", "c1", "pause", TS, "-42", "tv", "ios"], ("ev14", "negative_watch_seconds")),
    (["ev15", "u1", "c999", "play", TS, "", "tv", "ios"], ("ev15", "unknown_content_id")),
    (
        ["ev1", "u2", "c1", "play", "2026-11-01T11:00:00Z", "", "tv", "ios"],
        ("ev1", "duplicate_event"),
    ),
    (["ev17", "u1", "c1", "play", TS, "", "tv", "ios", "surplus"], ("ev17", "malformed_row")),
    (["ev18", "u1", "c1", "play", TS, ""], ("ev18", "malformed_row")),
]

# D1's Parquet file: typed columns (timestamp, double) are read as the strings a CSV carries.
PARQUET_ROWS = [("ev20", 30.0, None), ("ev21", float("nan"), ("ev21", "invalid_watch_seconds"))]


def write_corpus(landing, elsewhere):
    catalog_d1 = landing / "catalog" / "date=2026-11-01"
    write(catalog_d1 / "part-0.jsonl", "\n".join(line for line, _ in CATALOG_LINES) + "\n\n")
    write(catalog_d1 / "part-1.jsonl.gz", cut_gzip(item("c950") + "\n" * 200))
    write(catalog_d1 / "part-2.jsonl", item("c951") + "\n" + item("c952")[:40])

    events_d1 = landing / "events" / "date=2026-11-01"
    write(events_d1 / "a.csv", csv_text([[*EVENT_HEADER, "os"], *(r for r, _ in EVENT_ROWS)]))
    when = datetime(2026, 11, 1, 10, tzinfo=timezone.utc)
    typed = pa.table(
        {
            "event_id": [e for e, _, _ in PARQUET_ROWS],
            "user_id": ["u1", "u1"],
            "content_id": ["c1", "c1"],
            "event_type": ["pause", "pause"],
            "event_ts": pa.array([when, when], pa.timestamp("us", tz="UTC")),
            "watch_seconds": [w for _, w, _ in PARQUET_ROWS],
            "device": ["web", "web"],
        }
    )
    pq.write_table(typed, events_d1 / "b.parquet")
    write(events_d1 / "c.csv.gz", cut_gzip(csv_text([EVENT_HEADER] + [EVENT_ROWS[0][0]] * 300)))
    write(events_d1 / "d.parquet", (events_d1 / "b.parquet").read_bytes()[:-30])
    write(
        events_d1 / "e.csv",
        (",".join(EVENT_HEADER) + "\nev40,u1,c1,play,Caf\xe9,,tv\n").encode("latin-1"),
    )
    write(events_d1 / "f.csv", "")

    # D2 reorders the columns and adds app_version (evolved into bronze under "evolve").
    d2_ts = "2026-11-02T09:00:00Z"
    header_d2 = [
        "device",
        "event_ts",
        "event_id",
        "user_id",
        "content_id",
        "event_type",
        "watch_seconds",
        "app_version",
    ]
    write(
        landing / "events" / "date=2026-11-02" / "a.csv",
        csv_text(
            [
                header_d2,
                ["tv", d2_ts, "ev30", "u3", "c1", "play", "", "1.2"],
                ["tv", d2_ts, "ev1", "u1", "c1", "play", "", "1.2"],  # stored by D1 already
            ]
        ),
    )
    write(
        landing / "events" / "date=2026-11-02" / "b.csv.gz",
        gzip.compress(
            csv_text([EVENT_HEADER, ["ev31", "u3", "c2", "play", d2_ts, "", "tv"]]).encode()
        ),
    )

    no_watch = [c for c in EVENT_HEADER if c != "watch_seconds"]
    write(landing / "events" / "date=2026-11-03" / "part-0.csv", csv_text([no_watch, ["ev50"] * 6]))
    write(
        landing / "events" / "date=2026-11-04" / "only.csv.gz",
        cut_gzip(csv_text([EVENT_HEADER] * 300)),
    )
    write(elsewhere / "outside.csv", csv_text([EVENT_HEADER]))
    (landing / "events" / "date=2026-11-05").mkdir(parents=True)
    (landing / "events" / "date=2026-11-05" / "linked.csv").symlink_to(elsewhere / "outside.csv")


@pytest.fixture(scope="module")
def corpus(spark, tmp_path_factory):
    spark.sql("drop database if exists t_bad_input_corpus cascade")
    root = tmp_path_factory.mktemp("corpus")
    cfg = load_config("local", root=root, overrides={"database": "t_bad_input_corpus"})
    write_corpus(cfg.paths.landing, root / "elsewhere")
    ensure_tables(spark, cfg)
    evolve_cfg = dataclasses.replace(cfg, ingest=IngestSettings(extra_columns="evolve"))

    results = {
        "catalog": ingest_catalog.run(spark, cfg, D1),
        "events_d1": ingest_events.run(spark, cfg, D1),
        "events_d2": ingest_events.run(spark, evolve_cfg, D2),
    }
    results["events_d1_rerun"] = ingest_events.run(spark, cfg, D1)
    return cfg, results


def quarantined(spark, table, day):
    rows = spark.table(table).filter(f"_ingest_date = '{day}'").collect()
    return sorted(((r.record_key, r.reason) for r in rows), key=str)


def expected(outcomes):
    return sorted((o for o in outcomes if o is not None), key=str)


def reason_details(outcomes):
    counts = {}
    for _, reason in filter(None, outcomes):
        counts[f"quarantined.{reason}"] = counts.get(f"quarantined.{reason}", 0) + 1
    return {key: str(n) for key, n in counts.items()}


def test_every_bad_catalogue_line_is_quarantined_with_its_reason(spark, corpus):
    cfg, results = corpus
    outcomes = [o for _, o in CATALOG_LINES]
    assert quarantined(spark, f"{cfg.database}.content_quarantine", D1) == expected(outcomes)
    result = results["catalog"]
    assert (result.rows_in, result.rows_written, result.rows_quarantined) == (19, 3, 16)
    assert result.reconciles
    letters = cfg.paths.dead_letter / "catalog" / "date=2026-11-01"
    assert result.details == {
        **reason_details(outcomes),
        "dead_letter_files": "2",
        "dead_letter.part-1.jsonl.gz": json.loads(
            (letters / "part-1.jsonl.gz.reason.json").read_text()
        )["reason"],
        "dead_letter.part-2.jsonl": "truncated: the last line is cut mid-record "
        "(no trailing newline)",
        "extra_columns.ignored": "'studio'",
    }
    assert result.details["dead_letter.part-1.jsonl.gz"].startswith("unreadable gzip:")


def test_content_keeps_its_contract_and_only_the_valid_items(spark, corpus):
    cfg, _ = corpus
    content_df = spark.table(f"{cfg.database}.content")
    assert sorted(r.content_id for r in content_df.collect()) == ["c1", "c2", "c3"]
    assert "studio" not in content_df.columns
    raw = spark.table(f"{cfg.database}.bronze_catalog").filter("raw_line like '%Acme%'").count()
    assert raw == 1  # the extra field survives verbatim in bronze


def test_every_bad_event_row_is_quarantined_with_its_reason(spark, corpus):
    cfg, results = corpus
    outcomes = [o for _, o in EVENT_ROWS] + [o for _, _, o in PARQUET_ROWS]
    assert quarantined(spark, f"{cfg.database}.events_quarantine", D1) == expected(outcomes)
    result = results["events_d1"]
    assert (result.rows_in, result.rows_written, result.rows_quarantined) == (20, 3, 17)
    assert result.reconciles
    assert result.details == {
        **reason_details(outcomes),
        "dead_letter_files": "4",
        "dead_letter.c.csv.gz": "unreadable gzip: Compressed file ended before the "
        "end-of-stream marker was reached",
        "dead_letter.d.parquet": result.details["dead_letter.d.parquet"],
        "dead_letter.e.csv": "not UTF-8 text: invalid byte at byte 88",
        "dead_letter.f.csv": "empty file: no CSV header row",
        "extra_columns.ignored": "'os'",
    }
    assert result.details["dead_letter.d.parquet"].startswith("unreadable Parquet:")
    stored = spark.table(f"{cfg.database}.events").filter(f"_ingest_date = '{D1}'").collect()
    assert sorted((r.event_id, r.watch_seconds, r.event_date) for r in stored) == [
        ("ev1", None, D1),
        ("ev2", 120.5, D1),
        ("ev20", 30.0, D1),
    ]


def test_dead_lettered_files_sit_with_a_reason_sidecar_outside_landing(corpus):
    cfg, _ = corpus
    letters = cfg.paths.dead_letter / "events" / "date=2026-11-01"
    assert sorted(p.name for p in letters.iterdir()) == [
        "c.csv.gz",
        "c.csv.gz.reason.json",
        "d.parquet",
        "d.parquet.reason.json",
        "e.csv",
        "e.csv.reason.json",
        "f.csv",
        "f.csv.reason.json",
    ]
    landing = cfg.paths.landing / "events" / "date=2026-11-01"
    assert sorted(p.name for p in landing.iterdir()) == ["a.csv", "b.parquet"]


def test_a_rerun_after_dead_lettering_gives_the_same_day(spark, corpus):
    cfg, results = corpus
    first, rerun = results["events_d1"], results["events_d1_rerun"]
    assert (rerun.rows_in, rerun.rows_written, rerun.rows_quarantined, rerun.details) == (
        first.rows_in,
        first.rows_written,
        first.rows_quarantined,
        first.details,
    )
    assert spark.table(f"{cfg.database}.events").filter(f"_ingest_date = '{D1}'").count() == 3


def test_extra_columns_evolve_into_bronze_and_never_into_silver(spark, corpus):
    cfg, results = corpus
    result = results["events_d2"]
    assert (result.rows_in, result.rows_written, result.rows_quarantined) == (3, 2, 1)
    assert result.details == {
        "quarantined.duplicate_event": "1",
        "extra_columns.evolved": "app_version",
    }
    assert quarantined(spark, f"{cfg.database}.events_quarantine", D2) == [
        ("ev1", "duplicate_event")
    ]
    bronze = spark.table(f"{cfg.database}.bronze_events")
    assert "app_version" in bronze.columns and "os" not in bronze.columns
    by_day = {(r.event_id, r._ingest_date): r.app_version for r in bronze.collect()}
    assert by_day[("ev30", D2)] == "1.2"
    assert by_day[("ev31", D2)] is None
    assert by_day[("ev2", D1)] is None
    assert spark.table(f"{cfg.database}.events").columns == [
        "event_id",
        "user_id",
        "content_id",
        "event_type",
        "event_ts",
        "event_date",
        "watch_seconds",
        "device",
        "_ingest_date",
    ]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (
            MISSING_COLUMN_DAY,
            r"landing files break the column contract: \S+/events/date=2026-11-03/part-0\.csv "
            r"lacks required column\(s\) watch_seconds$",
        ),
        (
            ALL_DEAD_DAY,
            r"^every event landing file for 2026-11-04 is unreadable and was moved to \S+ "
            r"\(only\.csv\.gz\)",
        ),
        (SYMLINK_DAY, r"linked\.csv resolves to \S+/outside\.csv, outside the landing root"),
    ],
    ids=["missing_required_column", "every_file_unreadable", "symlink_out_of_landing"],
)
def test_broken_landing_contracts_fail_the_job_with_a_clear_message(spark, corpus, day, message):
    cfg, _ = corpus
    with pytest.raises(JobFailed, match=message) as failure:
        ingest_events.run(spark, cfg, day)
    assert "org.apache" not in str(failure.value)
