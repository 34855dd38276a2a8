"""The checks' logic, run by the engine on temporary views: no Delta table is written.

The engine reads tables by unqualified name, so a temporary view named ``events`` stands
in for the table; ``version`` is only recorded, never read, so any number serves.
"""

import math
from datetime import date, datetime, timedelta

import pytest

from contentlake.dq.engine import (
    quarantine_rules,
    run_checks,
    run_checks_of_tables,
    run_fused_scan,
    run_table_check,
)
from contentlake.dq.rules import (
    SAMPLE_SIZE,
    bind_run_date,
    fuses_with,
    load_checks,
    shared_run_slice,
)
from contentlake.tables import SQL_DIR, sql_statements

RUN_DATE = date(2026, 11, 1)
VERSION = 7

EVENTS = (
    "event_id string, user_id string, content_id string, event_type string, "
    "event_ts timestamp, event_date date, watch_seconds double, device string, "
    "_ingest_date date"
)
CONTENT = (
    "content_id string, content_type string, title string, description string, "
    "genres array<string>, tags array<string>, language string, duration_seconds int, "
    "release_date date, updated_at timestamp, series_id string, _ingest_date date"
)
EMBEDDINGS = (
    "content_id string, modality string, model_name string, model_version string, dim int, "
    "input_hash string, embedding array<float>, embedded_date date"
)
FUSED_SOURCES = (
    "content_id string, model_version string, modalities array<string>, "
    "imputed array<string>, modality_versions map<string, string>, "
    "weights map<string, double>, projection_dim int, input_hash string, embedded_date date"
)
ENTITIES = (
    "resolved_date date, content_id string, canonical_id string, content_type string, "
    "cluster_size int, match_rule string, canonical_rule string, review boolean, "
    "review_reason string, max_cluster_size int"
)
DQ_HISTORY = (
    "run_date date, table_name string, check_name string, observed_value double, run_status string"
)


def content_row(content_id, content_type="movie", title="A", duration=600, updated_day=1):
    """A content row; only the columns the checks look at vary."""
    updated_at = datetime(2026, 11, updated_day, 8)
    return (content_id, content_type, title, None, None, None, "en", duration, None,
            updated_at, None, RUN_DATE)  # fmt: skip


def event_row(number, event_type="play", watch=10.0, device="tv", ingest=RUN_DATE, hour=20):
    ts = datetime.combine(ingest, datetime.min.time()) + timedelta(hours=hour)
    event_id = f"e{ingest:%Y%m%d}{number:07d}"
    return (event_id, "u1", "c000001", event_type, ts, ts.date(), watch, device, ingest)


@pytest.fixture
def views(spark):
    """``views(name, rows, schema)`` makes a temporary view that is dropped after the test."""
    made = []

    def make(name, rows, schema):
        spark.createDataFrame(rows, schema).createOrReplaceTempView(name)
        made.append(name)

    yield make
    for name in made:
        spark.catalog.dropTempView(name)


@pytest.fixture
def events_lake(views):
    """``events_lake(events, history=())``: events, one catalogue item, dq history."""

    def make(events, history=()):
        views("content", [content_row("c000001")], CONTENT)
        # History rows come from succeeded runs unless they say otherwise.
        rows = [(*row, "succeeded") if len(row) == 4 else row for row in history]
        views("dq_results", rows, DQ_HISTORY)
        views("events", events, EVENTS)

    return make


class CountingSql:
    """A SparkSession stand-in that records the SQL queries a function sends."""

    def __init__(self, spark):
        self.spark = spark
        self.queries = []

    def sql(self, text):
        self.queries.append(text)
        return self.spark.sql(text)

    def __getattr__(self, name):
        return getattr(self.spark, name)


def outcome(result):
    return result.status, result.violation_count, tuple(sorted(result.sample_keys))


def by_name(results):
    return {r.check.name: outcome(r) for r in results}


def shipped(table, name):
    (check,) = [check for check in load_checks(table) if check.name == name]
    return check


def fused_scan(spark, table, run_date=RUN_DATE):
    """What ``run_checks`` fuses for ``table``: its row checks and the aggregates sharing
    their slice, in one scan."""
    checks = load_checks(table)
    row_checks = [check for check in checks if check.kind == "row"]
    run_slice = shared_run_slice(row_checks)
    aggregates = [check for check in checks if fuses_with(check, run_slice)]
    return run_fused_scan(spark, row_checks, aggregates, run_slice, run_date, VERSION)


def run_one(spark, table, name, run_date=RUN_DATE):
    return outcome(run_table_check(spark, shipped(table, name), run_date, VERSION))


def aggregate_scan(spark, name, table="events"):
    """One shipped aggregate check, judged by the fused-scan path with no row checks."""
    check = shipped(table, name)
    (result,) = run_fused_scan(spark, [], [check], check.predicate, RUN_DATE, VERSION)
    return outcome(result), result.observed_value


def volume_history(*counts, days_back=1):
    """dq history rows: ``counts`` observed by the volume check on consecutive earlier days,
    the last of them ``days_back`` days before the run date."""
    return [
        (
            RUN_DATE - timedelta(days=days_back + back),
            "events",
            "volume_within_trailing_band",
            float(c),
        )
        for back, c in enumerate(reversed(counts))
    ]


# -- one scan for the row checks and the aggregates that read the same rows --------------


def test_row_and_aggregate_checks_of_a_passing_table_cost_one_scan(spark, events_lake):
    events_lake([event_row(1), event_row(2, "click", 0.0, "web")])
    counting = CountingSql(spark)

    results = fused_scan(counting, "events")

    assert {r.check.kind for r in results} == {"row", "aggregate"}
    assert len(results) >= 8
    assert {outcome(r) for r in results} == {("pass", 0, ())}
    (scan,) = [query for query in counting.queries if "from events" in query]
    assert scan.endswith(" from events where _ingest_date = DATE '2026-11-01') as t0")
    assert "count_if(" in scan and "max(event_ts)" in scan and "count(*)" in scan
    # the aggregates' conditions run on their one row, never on the table
    judged = sorted(q.split(" where ")[0][:-9] for q in counting.queries if q != scan)
    assert judged == [
        "select * from _dq_fresh_for_run_date",
        "select * from _dq_volume_within_trailing_band",
    ]
    assert not [v.name for v in spark.catalog.listTables() if v.name.startswith("_dq_")]


def test_fused_checks_count_what_each_check_alone_returns(spark, events_lake):
    events_lake(
        [
            event_row(1),
            event_row(2, device="fridge"),
            event_row(3, device="fridge"),
            event_row(4, watch=90_000.0),
            event_row(5, ingest=RUN_DATE - timedelta(days=1), device="fridge"),
            event_row(6, event_type="share", hour=9),
        ],
        history=volume_history(10, 11, 12),
    )
    counting = CountingSql(spark)

    results = run_checks(counting, "events", RUN_DATE, VERSION)

    checks = load_checks("events")
    assert [r.check.name for r in results] == [c.name for c in checks]
    assert {(r.run_date, r.table_version) for r in results} == {(RUN_DATE, VERSION)}
    by_check = {r.check.name: r for r in results}
    # each row check's own SQL, counted on its own (one job for all of them)
    row_checks = [check for check in checks if check.kind == "row"]
    alone_sql = " union all ".join(
        f"select '{c.name}', count(*) from ({bind_run_date(c.sql, RUN_DATE)})" for c in row_checks
    )
    alone = {name: count for name, count in spark.sql(alone_sql).collect()}
    assert {c.name: by_check[c.name].violation_count for c in row_checks} == alone
    for check in checks:
        if check.kind == "aggregate":
            unfused = run_table_check(spark, check, RUN_DATE, VERSION)
            assert outcome(by_check[check.name]) == outcome(unfused), check.name
            assert by_check[check.name].observed_value == unfused.observed_value, check.name
    assert {name: outcome(r) for name, r in by_check.items() if r.status != "pass"} == {
        "device_known": ("warn", 2, ("e202611010000002", "e202611010000003")),
        # 4 plays and a share after 1 play the day before: 0.2 ln 0.8 + (0.2 - 1e-4) ln 2000
        "event_type_mix_stable": ("warn", 1, ("1.5640",)),
        "volume_within_trailing_band": ("warn", 1, ("rows_today=5",)),
        "watch_seconds_plausible": ("quarantined", 1, ("e202611010000004",)),
        "watch_within_duration": ("warn", 1, ("e202611010000004",)),
    }
    assert by_check["volume_within_trailing_band"].observed_value == 5.0
    assert by_check["fresh_for_run_date"].observed_value is None
    # one fused scan; one sample query per row check that found something; one query per
    # table check; the aggregates' conditions are judged on their one row of aggregates
    table_checks = [check.name for check in checks if check.kind == "table"]
    assert table_checks == ["event_id_unique", "event_type_mix_stable"]
    # the fused scan counts each row check with count_if(coalesce((<predicate>), false))
    assert sum("count_if(coalesce(" in q for q in counting.queries) == 1
    # samples of device_known, watch_seconds_plausible and watch_within_duration
    assert len([q for q in counting.queries if not q.startswith("select * from _dq_")]) == (
        1 + 3 + len(table_checks)
    )


def test_an_empty_run_slice_passes_the_row_checks_and_is_stale_and_small(spark, events_lake):
    # Every row of the day was quarantined before the write: the run slice is empty.
    events_lake(
        [event_row(1, ingest=RUN_DATE - timedelta(days=1), device="fridge", watch=90_000.0)],
        history=volume_history(10, 11, 12),
    )

    results = run_checks(
        spark,
        "events",
        RUN_DATE,
        VERSION,
        quarantined={"watch_seconds_plausible": 2, "device_known": 5},
    )

    by_check = {r.check.name: r for r in results}
    assert {name: outcome(r) for name, r in by_check.items() if r.status != "pass"} == {
        # the rows moved aside count, though none reached the table
        "watch_seconds_plausible": ("quarantined", 2, ()),
        "volume_within_trailing_band": ("warn", 1, ("rows_today=0",)),
        # no newest event at all is stale (the sample key is the null newest timestamp)
        "fresh_for_run_date": ("warn", 1, ("newest_event_ts=null",)),
    }
    assert by_check["volume_within_trailing_band"].observed_value == 0.0
    # a warn check moves nothing aside: a count passed for it is not added
    assert outcome(by_check["device_known"]) == ("pass", 0, ())


# -- failing checks: count and samples -----------------------------------------------------


def test_failing_checks_report_count_and_sample_keys_from_one_query(spark, views):
    views(
        "content",
        [
            content_row("c000001", title="A"),
            content_row("c000001", title="B"),
            content_row("c000002", content_type="episode", title="C"),
            content_row("c000003", title=" "),
        ],
        CONTENT,
    )

    results = run_checks(spark, "content", RUN_DATE, VERSION)

    assert [r.check.name for r in results] == [c.name for c in load_checks("content")]
    assert {r.check.name: outcome(r) for r in results if r.status != "pass"} == {
        "content_id_unique": ("fail", 1, ("c000001",)),
        "episode_has_series": ("warn", 1, ("c000002",)),
        "title_present": ("fail", 1, ("c000003",)),
    }
    counting = CountingSql(spark)
    unique = run_table_check(counting, shipped("content", "content_id_unique"), RUN_DATE, 3)
    assert (unique.violation_count, unique.sample_keys, unique.table_version) == (
        1,
        ("c000001",),
        3,
    )
    assert len(counting.queries) == 1


def test_the_count_is_the_total_and_the_samples_are_capped(spark, views):
    ids = [f"c00000{n}" for n in range(1, 8)]
    views("content", [content_row(i) for i in ids + ids], CONTENT)
    counting = CountingSql(spark)

    result = run_table_check(counting, shipped("content", "content_id_unique"), RUN_DATE, VERSION)

    assert (result.status, result.violation_count, len(result.sample_keys)) == ("fail", 7, 5)
    assert len(set(result.sample_keys)) == SAMPLE_SIZE and set(result.sample_keys) <= set(ids)
    # more violations than samples: the check's one query is fetched, then counted
    assert len(counting.queries) == 1


def test_catalogue_freshness_is_an_aggregate_over_the_whole_table(spark, views):
    views("content", [content_row("c000001", updated_day=1)], CONTENT)
    assert aggregate_scan(spark, "fresh_for_run_date", "content") == (("pass", 0, ()), None)
    views(
        "content",
        [content_row("c000001", updated_day=1), content_row("c2", updated_day=2)],
        CONTENT,
    )
    (stale,) = run_fused_scan(
        spark, [], [shipped("content", "fresh_for_run_date")], None, date(2026, 11, 5), VERSION
    )
    assert outcome(stale) == ("warn", 1, ("newest_update=2026-11-02 08:00:00",))


# -- table-level and aggregate logic -----------------------------------------------------


def test_volume_is_judged_against_the_trailing_history_of_observed_counts(spark, events_lake):
    # Three earlier runs observed 10, 11 and 12 events: mean 11, sd 1, band 8..14.
    history = volume_history(10, 11, 12) + [
        # another job observed a smaller count the same day: the day's largest counts
        (RUN_DATE - timedelta(days=1), "events", "volume_within_trailing_band", 2.0),
        # none of these belong to the band
        (RUN_DATE - timedelta(days=29), "events", "volume_within_trailing_band", 1000.0),
        (RUN_DATE, "events", "volume_within_trailing_band", 1000.0),
        (RUN_DATE - timedelta(days=5), "events", "volume_within_trailing_band", None),
        (RUN_DATE - timedelta(days=5), "events", "fresh_for_run_date", 1000.0),
        (RUN_DATE - timedelta(days=5), "content", "volume_within_trailing_band", 1000.0),
        # a run stopped by its gate: its rows were undone
        (RUN_DATE - timedelta(days=2), "events", "volume_within_trailing_band", 1e6, "failed"),
    ]
    yesterday = [event_row(n, ingest=RUN_DATE - timedelta(days=1)) for n in range(20)]

    def volume(count):
        events_lake(yesterday + [event_row(n) for n in range(count)], history=history)
        return aggregate_scan(spark, "volume_within_trailing_band")

    assert volume(3) == (("warn", 1, ("rows_today=3",)), 3.0)
    assert volume(15) == (("warn", 1, ("rows_today=15",)), 15.0)
    assert volume(8) == (("pass", 0, ()), 8.0)
    # run on its own (not fused), the count is observed on a passing run too
    check = shipped("events", "volume_within_trailing_band")
    alone = run_table_check(spark, check, RUN_DATE, VERSION)
    assert (outcome(alone), alone.observed_value) == (("pass", 0, ()), 8.0)


def test_volume_needs_three_earlier_runs_and_a_band_of_at_least_five_percent(spark, events_lake):
    events_lake([event_row(1)], history=volume_history(100, 100))
    assert aggregate_scan(spark, "volume_within_trailing_band") == (("pass", 0, ()), 1.0)
    # a steady history of 100: the band is 100 +- 15 (3 x 5% of the mean), not 100 +- 0
    history = volume_history(100, 100, 100)
    events_lake([event_row(n) for n in range(85)], history=history)
    assert aggregate_scan(spark, "volume_within_trailing_band") == (("pass", 0, ()), 85.0)
    events_lake([event_row(n) for n in range(84)], history=history)
    assert aggregate_scan(spark, "volume_within_trailing_band") == (
        ("warn", 1, ("rows_today=84",)),
        84.0,
    )


def test_event_type_shift_is_measured_by_psi_against_the_previous_ingest(spark, events_lake):
    before = RUN_DATE - timedelta(days=1)
    much_earlier = RUN_DATE - timedelta(days=9)
    events_lake(
        [event_row(n, "like", ingest=much_earlier) for n in range(10)]
        + [event_row(n, "play", ingest=before) for n in range(8)]
        + [event_row(n, "click", ingest=before) for n in range(8, 10)]
        + [event_row(n, "play") for n in range(2)]
        + [event_row(n, "click") for n in range(2, 10)]
    )
    expected = (0.2 - 0.8) * math.log(0.2 / 0.8) + (0.8 - 0.2) * math.log(0.8 / 0.2)

    assert run_one(spark, "events", "event_type_mix_stable") == ("warn", 1, (f"{expected:.4f}",))
    # the day before is compared with the ingest before it (all likes), not with later ones;
    # a type that appears or vanishes counts with its share floored at 1e-4
    floor = 1e-4
    vanished = (floor - 1.0) * math.log(floor / 1.0)
    appeared = sum((share - floor) * math.log(share / floor) for share in (0.8, 0.2))
    assert run_one(spark, "events", "event_type_mix_stable", before) == (
        "warn",
        1,
        (f"{vanished + appeared:.4f}",),
    )
    # the first ingest has nothing to compare with
    assert run_one(spark, "events", "event_type_mix_stable", much_earlier) == ("pass", 0, ())


def test_an_unchanged_event_type_mix_passes(spark, events_lake):
    before = RUN_DATE - timedelta(days=1)
    events_lake(
        [event_row(n, "play", ingest=before) for n in range(8)]
        + [event_row(n, "click", ingest=before) for n in range(8, 10)]
        + [event_row(n, "play") for n in range(4)]
        + [event_row(n, "click") for n in range(4, 5)]
    )
    assert run_one(spark, "events", "event_type_mix_stable") == ("pass", 0, ())


def test_event_ids_are_unique_across_ingests_judged_by_each_run_for_its_own_rows(
    spark, events_lake
):
    before = RUN_DATE - timedelta(days=1)
    earlier = RUN_DATE - timedelta(days=2)

    def copy_of(event_id, number, ingest):
        return (event_id, *event_row(number, ingest=ingest)[1:])

    resent = "e202610300000001"  # ingested two days ago and again on the run date
    twice_today = "e202611010000002"  # twice in the run date's own ingest
    older_pair = "e202610300000003"  # two days ago and yesterday: not the run date's
    events_lake(
        [event_row(1, ingest=earlier), event_row(3, ingest=earlier), event_row(4, ingest=earlier)]
        + [copy_of(older_pair, 5, before), event_row(6, ingest=before)]
        + [copy_of(resent, 7, RUN_DATE), event_row(2), event_row(2), event_row(8)]
    )

    assert run_one(spark, "events", "event_id_unique") == ("fail", 2, (resent, twice_today))
    assert run_one(spark, "events", "event_id_unique", before) == ("fail", 1, (older_pair,))
    assert run_one(spark, "events", "event_id_unique", earlier) == (
        "fail",
        2,
        (resent, older_pair),
    )
    # the analyst's whole-table audit lists every id stored twice, with its ingest dates
    (audit,) = sql_statements(SQL_DIR / "analyst" / "duplicate_events.sql")
    assert [tuple(row) for row in spark.sql(audit).collect()] == [
        (resent, 2, [earlier, RUN_DATE]),
        (older_pair, 2, [earlier, before]),
        (twice_today, 2, [RUN_DATE, RUN_DATE]),
    ]


def test_freshness_flags_an_ingest_whose_newest_event_is_old(spark, events_lake):
    events_lake([event_row(1, hour=9), event_row(2, hour=23, ingest=RUN_DATE - timedelta(1))])
    counting = CountingSql(spark)

    stale = by_name(fused_scan(counting, "events"))["fresh_for_run_date"]

    assert stale == ("warn", 1, ("newest_event_ts=2026-11-01 09:00:00",))
    # computed in the row checks' scan, not by a query of its own
    (reads_newest,) = [q for q in counting.queries if "max(event_ts)" in q]
    assert "count_if(" in reads_newest

    # 18:00 is exactly six hours before the day ends: fresh enough; 17:59 is not
    events_lake([event_row(1, hour=9), event_row(2, hour=18)])
    assert aggregate_scan(spark, "fresh_for_run_date") == (("pass", 0, ()), None)
    events_lake([event_row(1, hour=9), event_row(2, hour=17.99)])
    assert aggregate_scan(spark, "fresh_for_run_date") == (
        ("warn", 1, ("newest_event_ts=2026-11-01 17:59:24",)),
        None,
    )


def test_watch_time_is_compared_with_the_items_duration(spark, views):
    views("content", [content_row("c000001", duration=600)], CONTENT)
    views(
        "events",
        [event_row(1, watch=660.0), event_row(2, watch=661.0), event_row(3, watch=5000.0)],
        EVENTS,
    )
    assert run_one(spark, "events", "watch_within_duration") == (
        "warn",
        2,
        ("e202611010000002", "e202611010000003"),
    )


def test_an_item_without_a_fused_vector_is_reported_after_the_embedding_jobs(spark, views):
    """Coverage is judged on the fused table, which fuse_vectors writes after every embedding
    job, so it does not depend on the order the DAG ran text, visual and behaviour in."""
    views("content", [content_row(f"c00000{n}") for n in range(1, 4)], CONTENT)
    views(
        "content_fused_sources",
        [
            (content_id, "f1", ["text"], [], {"text": "v1"}, {"text": 1.0}, None, "h", RUN_DATE)
            for content_id in ("c000001", "c000002")
        ],
        FUSED_SOURCES,
    )

    assert run_one(spark, "content_fused_sources", "covers_catalogue") == (
        "warn",
        1,
        ("c000003",),
    )
    assert "covers_catalogue" not in {c.name for c in load_checks("content_embeddings")}


def test_embedding_checks_find_each_kind_of_broken_vector_the_run_wrote(spark, views):
    views("content", [content_row(f"c0000{n:02d}") for n in range(1, 12)], CONTENT)
    unit = [0.6, 0.8, 0.0]
    earlier = RUN_DATE - timedelta(days=1)

    def vector(content_id, values, dim=3, version="v1", day=RUN_DATE):
        return (content_id, "text", "m", version, dim, "h", values, day)

    views(
        "content_embeddings",
        [
            vector("c000001", unit),
            vector("c000002", [float("nan"), 0.0, 0.0]),
            vector("c000003", [0.0, 0.0, 0.0]),
            vector("c000004", [1.0, 1.0, 0.0]),
            vector("c000005", [1.0, 0.0], dim=3),
            vector("c000006", unit),
            vector("c000007", [0.0, 0.0, 1.0]),
            vector("c000008", [float("inf"), 0.0, 0.0]),
            vector("c000009", [0.6, 0.8], dim=2, version="v2"),
            # Written by earlier runs: judged then, not now; c000010 still sets v2's
            # dimension, which c000009 does not have.
            vector("c000010", unit, version="v2", day=earlier),
            vector("c000011", [float("nan"), 1.0, 0.0], day=earlier),
        ],
        EMBEDDINGS,
    )

    results = by_name(run_checks(spark, "content_embeddings", RUN_DATE, VERSION))

    assert results == {
        "content_id_unique": ("pass", 0, ()),
        "dimension_matches": ("fail", 1, ("c000005",)),
        "duplicate_vector_share": ("warn", 1, ("0.1111",)),  # 1 of the run's 9 repeats another
        "finite_values": ("fail", 2, ("c000002", "c000008")),
        "not_zero_vector": ("fail", 1, ("c000003",)),
        "one_dimension_per_model": ("fail", 1, ("c000009",)),
        "unit_norm": ("fail", 4, ("c000002", "c000003", "c000004", "c000008")),
    }


def test_a_key_check_costs_no_query_of_its_own_until_a_key_repeats(spark, views):
    views("content", [content_row(f"c00000{n}") for n in range(1, 4)], CONTENT)
    key_query = "group by content_id, modality, model_version"

    def vector(content_id, modality="text", version="v1"):
        return (content_id, modality, "m", version, 3, "h", [0.6, 0.8, 0.0], RUN_DATE)

    # one item under two model versions: no key repeats
    views("content_embeddings", [vector("c000001"), vector("c000002", version="v2"),
                                 vector("c000002")], EMBEDDINGS)  # fmt: skip
    counting = CountingSql(spark)
    passing = by_name(run_checks(counting, "content_embeddings", RUN_DATE, VERSION))
    assert passing["content_id_unique"] == ("pass", 0, ())
    assert not any(key_query in query for query in counting.queries)

    # a key three times, and a key with a null part twice (GROUP BY groups nulls together)
    views("content_embeddings", [vector("c000001")] * 3 + [vector("c000002", None)] * 2
          + [vector("c000003")], EMBEDDINGS)  # fmt: skip
    counting = CountingSql(spark)
    failing = by_name(run_checks(counting, "content_embeddings", RUN_DATE, VERSION))
    assert failing["content_id_unique"] == ("fail", 2, ("c000001", "c000002"))
    assert sum(key_query in query for query in counting.queries) == 1
    # the same count and samples as the check's own query run alone
    alone = run_one(spark, "content_embeddings", "content_id_unique")
    assert alone == failing["content_id_unique"]


def test_group_checks_share_one_aggregation_per_key_and_count_violating_groups(spark, views):
    """The entity checks that judge each canonical id's group: counted in the fused scan
    (one aggregation by canonical_id for all four), with the same groups as each check's
    own query run alone, and no query of their own while they pass."""
    own_queries = {
        c.name: bind_run_date(c.sql, RUN_DATE)
        for c in load_checks("content_entities")
        if c.kind == "group"
    }
    assert sorted(own_queries) == [
        "canonical_is_its_own_canonical",
        "cluster_size_counts_members",
        "cluster_within_size_guard",
        "one_content_type_per_entity",
    ]

    def entity(content_id, canonical_id, size, content_type="movie", day=RUN_DATE, guard=3):
        return (day, content_id, canonical_id, content_type, size, None, "smallest_id", False,
                None, guard)  # fmt: skip

    # the entity table's other checks read the catalogue and the day's pairs
    views("content", [content_row(f"c{n}") for n in range(1, 12)], CONTENT)
    views("content_match_pairs", [], "left_id string, right_id string, decision string, "
          "resolved_date date")  # fmt: skip
    passing = [entity("c1", "c1", 2), entity("c2", "c1", 2), entity("c3", "c3", 1)]
    # another day's rows break every rule, outside the run slice
    other_day = [entity(f"c9{n}", "c90", 9, "clip" if n else "movie", RUN_DATE - timedelta(1))
                 for n in range(5)]  # fmt: skip
    views("content_entities", passing + other_day, ENTITIES)
    counting = CountingSql(spark)
    results = by_name(run_checks(counting, "content_entities", RUN_DATE, VERSION))
    assert {name: results[name] for name in own_queries} == dict.fromkeys(
        own_queries, ("pass", 0, ())
    )
    assert not set(own_queries.values()) & set(counting.queries)
    (scan,) = [q for q in counting.queries if "count_if(" in q]
    assert scan.count("group by canonical_id") == 1

    views(
        "content_entities",
        [
            *passing,
            entity("c4", "c5", 1),  # c5 is not a member of its own entity
            entity("c6", "c6", 3),  # two members, cluster_size says 3
            entity("c7", "c6", 2),
            *[entity(f"c8{n}", "c80", 4) for n in range(4)],  # over the guard of 3
            entity("c10", "c10", 2, "movie"),  # a movie and a clip in one entity
            entity("c11", "c10", 2, "clip"),
            *other_day,
        ],
        ENTITIES,
    )
    counting = CountingSql(spark)
    failing = by_name(run_checks(counting, "content_entities", RUN_DATE, VERSION))
    assert {name: failing[name] for name in own_queries} == {
        "canonical_is_its_own_canonical": ("fail", 1, ("c5",)),
        "cluster_size_counts_members": ("fail", 1, ("c6",)),
        "cluster_within_size_guard": ("fail", 1, ("c80",)),
        "one_content_type_per_entity": ("fail", 1, ("c10",)),
    }
    for name, sql in own_queries.items():
        # the samples came from the check's own query, which agrees on the groups
        assert counting.queries.count(sql) == 1, name
        alone = run_table_check(spark, shipped("content_entities", name), RUN_DATE, VERSION)
        assert outcome(alone) == failing[name], name


# -- quarantine rules on staged rows -----------------------------------------------------


def test_quarantine_rules_judge_staged_rows_before_they_are_written(spark):
    rules = dict(quarantine_rules("events", RUN_DATE))
    assert list(rules) == ["watch_seconds_plausible"]
    staged_df = spark.createDataFrame(
        [
            ("e1", 100.0, RUN_DATE),
            ("e2", 86_401.0, RUN_DATE),
            ("e3", None, RUN_DATE),
            ("e4", 86_400.0, RUN_DATE),
            ("e5", 90_000.0, RUN_DATE - timedelta(days=1)),  # not this run's ingest
        ],
        "event_id string, watch_seconds double, _ingest_date date",
    )
    flagged = staged_df.filter(rules["watch_seconds_plausible"]).select("event_id").collect()
    assert [row.event_id for row in flagged] == ["e2"]


def test_content_quarantine_rules_spare_series_and_plausible_durations(spark):
    (rule,) = quarantine_rules("content", RUN_DATE)
    assert rule[0] == "duration_plausible"
    staged_df = spark.createDataFrame(
        [
            ("c1", "movie", 0),
            ("c2", "series", None),
            ("c3", "movie", None),
            ("c4", "clip", 43_200),
            ("c5", "episode", 43_201),
            ("c6", "movie", 1),
        ],
        "content_id string, content_type string, duration_seconds int",
    )
    flagged = staged_df.filter(rule[1]).select("content_id").collect()
    assert sorted(row.content_id for row in flagged) == ["c1", "c3", "c5"]


def test_checks_of_two_tables_share_one_scan_and_one_batch(spark, events_lake):
    events_lake([event_row(1), event_row(2, "click", 0.0, "web")])
    counting = CountingSql(spark)

    by_table = run_checks_of_tables(counting, {"events": VERSION, "content": VERSION}, RUN_DATE)

    (scan,) = [q for q in counting.queries if q.startswith("select * from (select count_if(")]
    assert " from events where " in scan and " from content" in scan and " cross join " in scan
    assert [r.check.name for r in by_table["events"]] == [c.name for c in load_checks("events")]
    assert [r.check.name for r in by_table["content"]] == [c.name for c in load_checks("content")]
    # the same results as each table's checks run on their own
    for table in ("events", "content"):
        alone = run_checks(spark, table, RUN_DATE, VERSION)
        assert [outcome(r) for r in by_table[table]] == [outcome(r) for r in alone]


MEDIA_STATUS = (
    "content_id string, media_kind string, source_uri string, resolved_uri string, "
    "media_input_hash string, detector_version string, status string, detail string, "
    "codec string, width int, height int, duration_seconds double, frames_decoded int, "
    "shots int, keyframes int, keyframe_limit int, checked_date date, run_id string"
)
KEYFRAMES = "content_id string, kind string, detector_version string"


def test_media_status_checks_bound_and_reconcile_the_keyframes_stored(spark, views):
    def status(content_id, kind, state, keyframes, limit=4, detail=None):
        return (content_id, kind, f"file:/{content_id}.{kind}", None, "h", "d1", state, detail,
                None, None, None, None, None, None, keyframes, limit, RUN_DATE, "r")  # fmt: skip

    def stored(content_id, kind, count):
        return [(content_id, kind, "d1")] * count

    views(
        "content",
        [("c1", "file:/c1.jpg", "file:/c1.mp4"), ("c2", None, "file:/c2.mp4"),
         ("c3", "file:/c3.jpg", None), ("c4", None, "file:/c4.mp4")],  # fmt: skip
        "content_id string, poster_uri string, video_uri string",
    )
    views(
        "content_media_status",
        [
            status("c1", "poster", "ok", 1),
            status("c1", "video", "ok", 3),
            # Over the bound its run applied, though all five are stored.
            status("c2", "video", "ok", 5),
            # Says one poster, none stored.
            status("c3", "poster", "ok", 1),
            # Failed without a reason, yet keyframes were stored for it.
            status("c5", "video", "missing_file", 0),
        ],
        MEDIA_STATUS,
    )
    views(
        "content_keyframes",
        [
            *stored("c1", "poster", 1),
            *stored("c1", "keyframe", 3),
            *stored("c2", "keyframe", 5),
            *stored("c5", "keyframe", 2),
            # Keyframes with no status row at all.
            *stored("c7", "keyframe", 1),
        ],
        KEYFRAMES,
    )

    assert by_name(run_checks(spark, "content_media_status", RUN_DATE, VERSION)) == {
        "covers_catalogue_media": ("warn", 1, ("c4",)),
        "keyframes_within_bound": ("fail", 1, ("c2",)),
        "reason_explained": ("fail", 1, ("c5",)),
        "reconciles_with_keyframes": ("fail", 3, ("c3", "c5", "c7")),
    }
