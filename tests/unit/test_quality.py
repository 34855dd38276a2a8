import math
from datetime import date, datetime, timedelta

import pytest
from chispa import assert_df_equality

from contentlake.quality import (
    Check,
    DataQualityError,
    bind_run_date,
    checked_tables,
    load_checks,
    quarantine_rules,
    record_results,
    run_checks,
    run_row_checks,
    run_table_check,
    run_table_checks,
    shared_run_slice,
)
from contentlake.tables import (
    SQL_DIR,
    ensure_tables,
    require_table,
    sql_statements,
    table_version,
)

RUN_DATE = date(2026, 11, 1)


def content_row(content_id, content_type, title, duration=600, language="en"):
    """A content table row; only the columns the checks look at vary."""
    return (
        content_id,
        content_type,
        title,
        None,
        None,
        None,
        language,
        duration,
        None,
        datetime(2026, 11, 1),
        None,
        RUN_DATE,
    )


def event_row(number, event_type="play", watch=10.0, device="tv", ingest=RUN_DATE, hour=20):
    ts = datetime.combine(ingest, datetime.min.time()) + timedelta(hours=hour)
    event_id = f"e{ingest:%Y%m%d}{number:07d}"
    return (event_id, "u1", "c000001", event_type, ts, ts.date(), watch, device, ingest)


def append(spark, table, rows):
    spark.createDataFrame(rows, spark.table(table).schema).writeTo(table).append()


def result_by_name(results):
    return {r.check.name: (r.status, r.violation_count, r.sample_keys) for r in results}


class CountingSql:
    """A SparkSession stand-in that counts the SQL queries a function sends."""

    def __init__(self, spark):
        self.spark = spark
        self.queries = []

    def sql(self, text):
        self.queries.append(text)
        return self.spark.sql(text)


def run_shipped_check(spark, table, name, run_date):
    """One shipped table check, run on its own against the table's latest version."""
    (check,) = [check for check in load_checks(table) if check.name == name]
    return run_table_check(spark, check, run_date, table_version(spark, table))


def run_one(spark, table, name, run_date):
    """One shipped table check, judged on its own: (status, count, sample keys)."""
    result = run_shipped_check(spark, table, name, run_date)
    return result.status, result.violation_count, result.sample_keys


def write_check(folder, name, text):
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.sql"
    path.write_text(text)
    return path


# -- the catalogue itself ----------------------------------------------------------------


def test_every_shipped_check_parses_with_severity_kind_and_description():
    tables = checked_tables()
    assert set(tables) >= {"content", "events", "content_daily_features", "content_embeddings"}
    kinds = set()
    for table in tables:
        for check in load_checks(table):
            assert check.severity in ("warn", "quarantine", "fail")
            assert check.description
            assert check.table == table
            assert (check.predicate is not None) == (check.kind == "row")
            kinds.add((check.kind, check.severity))
    assert {("row", "quarantine"), ("row", "fail"), ("table", "warn")} <= kinds


def test_a_check_without_severity_is_refused(tmp_path):
    path = write_check(tmp_path / "events", "no_header", "select event_id from events")
    with pytest.raises(ValueError, match="severity must be one of"):
        Check.from_file(path)


def test_a_row_check_must_be_a_single_table_select_where(tmp_path):
    path = write_check(
        tmp_path / "events",
        "joined",
        "-- severity: warn\n-- kind: row\n"
        "select e.event_id from events e join content c on e.content_id = c.content_id",
    )
    with pytest.raises(ValueError, match="a row check must read"):
        Check.from_file(path)


def test_only_row_checks_may_quarantine(tmp_path):
    path = write_check(
        tmp_path / "events", "dupes", "-- severity: quarantine\nselect event_id from events"
    )
    with pytest.raises(ValueError, match="only row checks can quarantine"):
        Check.from_file(path)


def test_row_check_keeps_its_predicate_and_drops_comments(tmp_path):
    path = write_check(
        tmp_path / "events",
        "long_watch",
        "-- severity: quarantine\n-- kind: row\n-- description: d\n-- why this exists\n"
        "select event_id, watch_seconds from events\nwhere watch_seconds > 86400\n",
    )
    check = Check.from_file(path)
    assert (check.kind, check.severity, check.predicate) == (
        "row",
        "quarantine",
        "watch_seconds > 86400",
    )


def test_run_date_is_bound_as_a_date_literal_only():
    sql = "select 1 from events where event_date = {run_date}"
    assert bind_run_date(sql, RUN_DATE) == (
        "select 1 from events where event_date = DATE '2026-11-01'"
    )
    with pytest.raises(TypeError):
        bind_run_date(sql, "2026-11-01'; drop table events; --")


def test_unknown_tables_and_unsafe_names_are_refused(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    assert require_table(spark, "events") == "events"
    with pytest.raises(ValueError, match="does not exist"):
        require_table(spark, "no_such_table")
    with pytest.raises(ValueError, match="not a valid table"):
        require_table(spark, "events; drop table content")
    with pytest.raises(ValueError, match="no data-quality checks"):
        load_checks("../ddl")


# -- single scan, severities and the gate -------------------------------------------------


def test_all_row_checks_of_a_table_cost_one_query_when_they_pass(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(spark, "content", [content_row("c000001", "movie", "A")])
    append(spark, "events", [event_row(1), event_row(2, "click", 0.0, "web")])
    checks = [check for check in load_checks("events") if check.kind == "row"]
    assert len(checks) >= 5

    counting = CountingSql(spark)
    results = run_row_checks(counting, checks, RUN_DATE, table_version(spark, "events"))

    assert len(counting.queries) == 1
    assert {r.status for r in results} == {"pass"}


def test_row_checks_in_one_scan_count_what_each_check_alone_returns(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(spark, "content", [content_row("c000001", "movie", "A")])
    append(
        spark,
        "events",
        [
            event_row(1),
            event_row(2, device="fridge"),
            event_row(3, device="fridge"),
            event_row(4, watch=90_000.0),
            event_row(5, ingest=RUN_DATE - timedelta(days=1), device="fridge"),
        ],
    )
    checks = [check for check in load_checks("events") if check.kind == "row"]
    counting = CountingSql(spark)
    results = result_by_name(
        run_row_checks(counting, checks, RUN_DATE, table_version(spark, "events"))
    )

    for check in checks:
        alone = spark.sql(bind_run_date(check.sql, RUN_DATE)).count()
        assert results[check.name][1] == alone, check.name
    assert results["device_known"] == ("warn", 2, ("e202611010000002", "e202611010000003"))
    assert results["watch_seconds_plausible"] == ("quarantined", 1, ("e202611010000004",))
    # one scan, then one sample query per check that found something
    assert len(counting.queries) == 1 + 2


def test_fused_scan_keeps_to_the_run_slice_only_when_every_predicate_is_within_it():
    def row_check(predicate):
        return Check("c", "events", "warn", "", "", kind="row", predicate=predicate)

    within = row_check("_ingest_date = {run_date} and watch_seconds > 86400")
    spaced = row_check("_ingest_date  =  {run_date}\n  and (device is null or device = 'x')")
    assert shared_run_slice([within, spaced]) == "_ingest_date = {run_date}"
    # "and" binds tighter than "or": this one also counts rows of other days
    assert shared_run_slice([within, row_check("_ingest_date = {run_date} and a or b")]) is None
    assert shared_run_slice([within, row_check("device = 'x'")]) is None
    assert shared_run_slice([within, row_check("event_date = {run_date} and a")]) is None


def test_failing_check_stops_with_table_check_and_sample_keys(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(
        spark,
        "content",
        [
            content_row("c000001", "movie", "A"),
            content_row("c000001", "movie", "B"),
            content_row("c000002", "episode", "C"),
        ],
    )
    with pytest.raises(DataQualityError) as failure:
        run_table_checks(spark, lake_cfg, "content", RUN_DATE, "run-1")

    message = str(failure.value)
    assert "check content_id_unique on table content" in message
    assert "1 violating rows (sample keys: c000001)" in message
    recorded = {
        row.check_name: (row.check_kind, row.status, row.violation_count, tuple(row.sample_keys))
        for row in spark.table("dq_results").collect()
    }
    assert len(recorded) == len(load_checks("content"))
    assert recorded["content_id_unique"] == ("table", "fail", 1, ("c000001",))
    assert recorded["episode_has_series"] == ("row", "warn", 1, ("c000002",))
    assert recorded["title_present"] == ("row", "pass", 0, ())


def test_a_failed_gate_restores_the_table_it_checked(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(
        spark,
        "content",
        [content_row("c000001", "movie", "A"), content_row("c000002", "movie", "B")],
    )
    before_df = spark.table("content").localCheckpoint()
    version_before = table_version(spark, "content")

    append(spark, "content", [content_row("c000001", "movie", "A again")])
    with pytest.raises(DataQualityError, match="content_id_unique"):
        run_table_checks(
            spark, lake_cfg, "content", RUN_DATE, "run-1", restore_version=version_before
        )

    assert_df_equality(spark.table("content"), before_df, ignore_row_order=True)
    latest = spark.sql("describe history content").orderBy("version", ascending=False).first()
    assert latest.operation == "RESTORE"


def test_quarantine_rules_judge_staged_rows_before_they_are_written(spark):
    rules = dict(quarantine_rules("events", RUN_DATE))
    staged_df = spark.createDataFrame(
        [("e1", 100.0, RUN_DATE), ("e2", 86_401.0, RUN_DATE), ("e3", None, RUN_DATE)],
        "event_id string, watch_seconds double, _ingest_date date",
    )
    flagged = staged_df.filter(rules["watch_seconds_plausible"]).select("event_id").collect()
    assert [row.event_id for row in flagged] == ["e2"]


def test_rerunning_checks_replaces_their_history_rows(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    run_table_checks(spark, lake_cfg, "content", RUN_DATE, "run-1")
    run_table_checks(spark, lake_cfg, "content", RUN_DATE, "run-2")
    rows = spark.table("dq_results").collect()
    assert len(rows) == len(load_checks("content"))
    assert {row.run_id for row in rows} == {"run-2"}


# -- table-level checks ------------------------------------------------------------------


def test_volume_is_judged_against_the_trailing_history_of_observed_counts(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(spark, "content", [content_row("c000001", "movie", "A")])
    # Three earlier runs with 10, 11 and 12 events: mean 11, sd 1, band 8..14.
    for back, count in ((3, 10), (2, 11), (1, 12)):
        day = RUN_DATE - timedelta(days=back)
        append(spark, "events", [event_row(n, ingest=day) for n in range(count)])
        result = run_shipped_check(spark, "events", "volume_within_trailing_band", day)
        record_results(spark, lake_cfg, [result], f"run-{day}")
    history = spark.sql(
        "select run_date, observed_value from dq_results "
        "where check_name = 'volume_within_trailing_band' order by run_date"
    ).collect()
    assert [row.observed_value for row in history] == [10.0, 11.0, 12.0]

    append(spark, "events", [event_row(n) for n in range(3)])
    assert run_one(spark, "events", "volume_within_trailing_band", RUN_DATE) == ("warn", 1, ("3",))

    append(spark, "events", [event_row(n) for n in range(3, 12)])
    assert run_one(spark, "events", "volume_within_trailing_band", RUN_DATE) == ("pass", 0, ())


def test_event_type_shift_is_measured_by_psi_against_the_previous_ingest(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(spark, "content", [content_row("c000001", "movie", "A")])
    before = RUN_DATE - timedelta(days=1)
    append(
        spark,
        "events",
        [event_row(n, "play", ingest=before) for n in range(8)]
        + [event_row(n, "click", ingest=before) for n in range(8, 10)],
    )
    append(
        spark,
        "events",
        [event_row(n, "play") for n in range(2)] + [event_row(n, "click") for n in range(2, 10)],
    )
    expected = (0.2 - 0.8) * math.log(0.2 / 0.8) + (0.8 - 0.2) * math.log(0.8 / 0.2)

    shift = run_one(spark, "events", "event_type_mix_stable", RUN_DATE)

    assert shift == ("warn", 1, (f"{expected:.4f}",))
    # the first ingest has nothing to compare with
    assert run_one(spark, "events", "event_type_mix_stable", before)[0] == "pass"


def test_event_ids_are_unique_across_ingests_judged_by_each_run_for_its_own_rows(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(spark, "content", [content_row("c000001", "movie", "A")])
    before = RUN_DATE - timedelta(days=1)
    earlier = RUN_DATE - timedelta(days=2)

    def copy_of(event_id, number, ingest):
        return (event_id, *event_row(number, ingest=ingest)[1:])

    resent = "e202610300000001"  # ingested two days ago and again on the run date
    twice_today = "e202611010000002"  # twice in the run date's own ingest
    older_pair = "e202610300000003"  # two days ago and yesterday: not the run date's
    append(
        spark,
        "events",
        [event_row(1, ingest=earlier), event_row(3, ingest=earlier), event_row(4, ingest=earlier)]
        + [copy_of(older_pair, 5, before), event_row(6, ingest=before)]
        + [copy_of(resent, 7, RUN_DATE), event_row(2), event_row(2), event_row(8)],
    )

    def unique_result(run_date):
        status, count, samples = run_one(spark, "events", "event_id_unique", run_date)
        return status, count, set(samples)

    assert unique_result(RUN_DATE) == ("fail", 2, {resent, twice_today})
    assert unique_result(before) == ("fail", 1, {older_pair})
    assert unique_result(earlier) == ("fail", 2, {resent, older_pair})
    # the analyst's whole-table audit lists every id stored twice, with its ingest dates
    (audit,) = sql_statements(SQL_DIR / "analyst" / "duplicate_events.sql")
    assert [tuple(row) for row in spark.sql(audit).collect()] == [
        (resent, 2, [earlier, RUN_DATE]),
        (older_pair, 2, [earlier, before]),
        (twice_today, 2, [RUN_DATE, RUN_DATE]),
    ]


def test_freshness_flags_an_ingest_whose_newest_event_is_old(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(spark, "content", [content_row("c000001", "movie", "A")])
    append(spark, "events", [event_row(1, hour=9)])
    stale = run_one(spark, "events", "fresh_for_run_date", RUN_DATE)
    assert stale[:2] == ("warn", 1)
    append(spark, "events", [event_row(2, hour=23)])
    assert run_one(spark, "events", "fresh_for_run_date", RUN_DATE)[0] == "pass"


def test_embedding_checks_find_each_kind_of_broken_vector(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(spark, "content", [content_row(f"c00000{n}", "movie", "A") for n in range(1, 8)])
    unit = [0.6, 0.8, 0.0]

    def vector(content_id, values, dim=3):
        return (content_id, "text", "m", "v1", dim, "h", values, RUN_DATE)

    append(
        spark,
        "content_embeddings",
        [
            vector("c000001", unit),
            vector("c000002", [float("nan"), 0.0, 0.0]),
            vector("c000003", [0.0, 0.0, 0.0]),
            vector("c000004", [1.0, 1.0, 0.0]),
            vector("c000005", [1.0, 0.0], dim=3),
            vector("c000006", unit),
            vector("c000007", [0.0, 0.0, 1.0]),
        ],
    )
    results = result_by_name(run_checks(spark, "content_embeddings", RUN_DATE))

    assert results["finite_values"] == ("fail", 1, ("c000002",))
    assert results["not_zero_vector"] == ("fail", 1, ("c000003",))
    assert results["dimension_matches"] == ("fail", 1, ("c000005",))
    assert set(results["unit_norm"][2]) == {"c000002", "c000003", "c000004"}
    assert results["duplicate_vector_share"] == ("warn", 1, ("0.1429",))  # 1 of 7 repeats
    assert results["one_dimension_per_model"] == ("pass", 0, ())
    assert results["covers_catalogue"] == ("pass", 0, ())


def test_a_failed_gate_undoes_only_the_runs_own_rows_when_told_which(spark, lake_cfg):
    ensure_tables(spark, lake_cfg)
    append(spark, "content", [content_row("c000001", "movie", "A")])
    day1, day3 = RUN_DATE - timedelta(days=1), RUN_DATE + timedelta(days=1)
    append(spark, "events", [event_row(1, ingest=day1)])
    version_before = table_version(spark, "events")
    # The run writes its day, referring to an unknown item; a concurrent backfill of
    # another day commits before the run's gate.
    unknown = event_row(2)[:2] + ("c999999",) + event_row(2)[3:]
    append(spark, "events", [event_row(1), unknown])
    append(spark, "events", [event_row(1, ingest=day3)])

    with pytest.raises(DataQualityError, match="content_id_known"):
        run_table_checks(
            spark,
            lake_cfg,
            "events",
            RUN_DATE,
            "run-1",
            restore_version=version_before,
            run_rows="_ingest_date = {run_date}",
        )

    left = sorted((r._ingest_date, r.event_id) for r in spark.table("events").collect())
    assert left == [(day1, "e202610310000001"), (day3, "e202611020000001")]
