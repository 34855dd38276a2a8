"""The data-quality rules as data: parsing, run-date binding and scan fusion. No Spark."""

from datetime import date

import pytest

from contentlake.dq.rules import (
    SAMPLE_SIZE,
    Check,
    CheckResult,
    DataQualityError,
    bind_run_date,
    checked_tables,
    fuses_with,
    load_checks,
    shared_run_slice,
)

RUN_DATE = date(2026, 11, 1)


def write_check(folder, name, text):
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.sql"
    path.write_text(text)
    return path


def row_check(predicate, table="events"):
    return Check("c", table, "warn", "", "", kind="row", predicate=predicate)


def aggregate_check(predicate):
    return Check(
        "a", "events", "warn", "", "", kind="aggregate", predicate=predicate, measures="count(*)"
    )


# -- the shipped catalogue ---------------------------------------------------------------


def test_every_shipped_check_parses_with_severity_kind_and_description():
    tables = checked_tables()
    assert set(tables) >= {
        "content",
        "events",
        "events_quarantine",
        "content_daily_features",
        "content_embeddings",
    }
    kinds = set()
    for table in tables:
        checks = load_checks(table)
        assert [check.name for check in checks] == sorted(check.name for check in checks)
        for check in checks:
            assert check.severity in ("warn", "quarantine", "fail"), check.name
            assert check.description, check.name
            assert check.table == table
            if check.kind == "row":
                assert check.predicate and check.measures is None and check.having is None
            elif check.kind == "aggregate":
                assert check.measures and check.having, check.name
            elif check.kind == "unique":
                assert check.key and check.measures is None and check.having is None
            elif check.kind == "group":
                assert check.key and check.having and check.measures is None, check.name
            else:
                assert check.kind == "table"
                assert (check.predicate, check.measures, check.having, check.observe) == (None,) * 4
            kinds.add((check.kind, check.severity))
    assert {
        ("row", "quarantine"),
        ("row", "fail"),
        ("row", "warn"),
        ("aggregate", "warn"),
        ("unique", "fail"),
        ("group", "fail"),
        ("table", "warn"),
        ("table", "fail"),
    } <= kinds


def test_the_shipped_aggregate_checks_split_into_measures_slice_and_condition():
    by_name = {(c.table, c.name): c for t in ("events", "content") for c in load_checks(t)}
    volume = by_name["events", "volume_within_trailing_band"]
    assert (volume.kind, volume.measures, volume.predicate, volume.observe) == (
        "aggregate",
        "count(*) as rows_today",
        "_ingest_date = {run_date}",
        "rows_today",
    )
    assert volume.having.startswith("exists (") and "from dq_results" in volume.having
    events_fresh = by_name["events", "fresh_for_run_date"]
    assert (events_fresh.measures, events_fresh.predicate, events_fresh.observe) == (
        "max(event_ts) as newest_event_ts",
        "_ingest_date = {run_date}",
        None,
    )
    content_fresh = by_name["content", "fresh_for_run_date"]
    assert (content_fresh.kind, content_fresh.measures, content_fresh.predicate) == (
        "aggregate",
        "max(updated_at) as newest_update",
        None,
    )
    assert content_fresh.having == (
        "newest_update is null or newest_update < timestamp(date_sub({run_date}, 2))"
    )


def test_the_shipped_row_checks_of_each_table_share_a_scan_with_its_aggregates():
    events_checks = load_checks("events")
    events_slice = shared_run_slice([c for c in events_checks if c.kind == "row"])
    assert events_slice == "_ingest_date = {run_date}"
    assert {c.name for c in events_checks if fuses_with(c, events_slice)} == {
        "fresh_for_run_date",
        "volume_within_trailing_band",
    }
    content_checks = load_checks("content")
    # content's row checks judge the whole table, and so do its freshness and key checks
    assert shared_run_slice([c for c in content_checks if c.kind == "row"]) is None
    assert [c.name for c in content_checks if fuses_with(c, None)] == [
        "content_id_unique",
        "fresh_for_run_date",
    ]


def test_the_shipped_unique_checks_share_their_tables_scans():
    """Each key check reads the rows its table's scan reads, so none costs a query of its own
    on a passing day; events' id check reads other days' ids too and stays a table check."""
    fused = set()
    for table in checked_tables():
        checks = load_checks(table)
        row_checks = [c for c in checks if c.kind == "row"]
        run_slice = shared_run_slice(row_checks) if row_checks else None
        unique = [c for c in checks if c.kind == "unique"]
        fused |= {(table, c.name) for c in unique if fuses_with(c, run_slice)}
    assert fused == {
        ("content", "content_id_unique"),
        ("content_daily_features", "one_row_per_item"),
        ("content_embeddings", "content_id_unique"),
        ("content_entities", "one_row_per_item"),
        ("content_fused_sources", "one_row_per_vector"),
        ("content_keyframes", "key_unique"),
        ("content_match_pairs", "one_row_per_pair"),
        ("drift_metrics", "one_row_per_metric"),
    }
    (event_ids,) = [c for c in load_checks("events") if c.name == "event_id_unique"]
    assert event_ids.kind == "table"


def test_a_unique_check_splits_into_its_key_and_slice(tmp_path):
    path = write_check(
        tmp_path / "drift_metrics",
        "one_row",
        "-- severity: fail\n-- kind: unique\n-- description: d\n"
        "select concat(subject, ' ', metric) as metric_key, count(*) as copies\n"
        "from drift_metrics\nwhere run_date = {run_date}\n"
        "group by subject, metric\nhaving count(*) > 1\n",
    )
    check = Check.from_file(path)
    assert (check.kind, check.key, check.predicate) == (
        "unique",
        "subject, metric",
        "run_date = {run_date}",
    )
    whole = write_check(
        tmp_path / "content",
        "ids",
        "-- severity: fail\n-- kind: unique\n"
        "select content_id, count(*) as copies from content group by content_id "
        "having count(*) > 1",
    )
    assert (Check.from_file(whole).key, Check.from_file(whole).predicate) == ("content_id", None)


@pytest.mark.parametrize(
    "body",
    [
        "select content_id from content group by content_id having count(*) > 1",  # no count
        "select content_id, count(*) as n from content group by content_id having count(*) > 2",
        "select content_id, count(*) as n from content group by content_id",  # no having
        "select content_id, count(*) as n from events group by content_id having count(*) > 1",
    ],
)
def test_a_malformed_unique_check_is_refused(tmp_path, body):
    path = write_check(tmp_path / "content", "bad", f"-- severity: fail\n-- kind: unique\n{body}")
    with pytest.raises(ValueError, match="a unique check must read"):
        Check.from_file(path)


def test_a_group_check_splits_into_its_key_slice_and_condition(tmp_path):
    path = write_check(
        tmp_path / "content_entities",
        "guard",
        "-- severity: fail\n-- kind: group\n-- description: d\n"
        "select canonical_id, count(*) as members\nfrom content_entities\n"
        "where resolved_date = {run_date}\ngroup by canonical_id\n"
        "having count(*) > max(max_cluster_size)\n",
    )
    check = Check.from_file(path)
    assert (check.kind, check.key, check.predicate, check.having) == (
        "group",
        "canonical_id",
        "resolved_date = {run_date}",
        "count(*) > max(max_cluster_size)",
    )
    assert fuses_with(check, "resolved_date = {run_date}")
    assert not fuses_with(check, None)
    bad = write_check(
        tmp_path / "content_entities",
        "bad",
        "-- severity: fail\n-- kind: group\n"
        "select canonical_id, count(*) as n from content_entities group by canonical_id",
    )
    with pytest.raises(ValueError, match="a group check must read"):
        Check.from_file(bad)


def test_only_row_checks_may_quarantine_in_the_shipped_catalogue():
    quarantining = {
        (check.table, check.name, check.kind)
        for table in checked_tables()
        for check in load_checks(table)
        if check.severity == "quarantine"
    }
    assert quarantining == {
        ("content", "duration_plausible", "row"),
        ("events", "watch_seconds_plausible", "row"),
    }


# -- headers and shapes that are refused -------------------------------------------------


def test_a_check_without_severity_is_refused(tmp_path):
    path = write_check(tmp_path / "events", "no_header", "select event_id from events")
    with pytest.raises(ValueError, match="severity must be one of"):
        Check.from_file(path)


def test_an_unknown_severity_or_kind_is_refused(tmp_path):
    loud = write_check(tmp_path / "events", "loud", "-- severity: panic\nselect 1 from events")
    with pytest.raises(ValueError, match="severity must be one of .* got 'panic'"):
        Check.from_file(loud)
    odd = write_check(
        tmp_path / "events", "odd", "-- severity: warn\n-- kind: column\nselect 1 from events"
    )
    with pytest.raises(ValueError, match="kind must be one of .* got 'column'"):
        Check.from_file(odd)


def test_a_check_folder_must_be_a_plain_table_name(tmp_path):
    path = write_check(tmp_path / "events;drop", "x", "-- severity: warn\nselect 1 from events")
    with pytest.raises(ValueError, match="not a valid table"):
        Check.from_file(path)


def test_unknown_and_unsafe_table_names_have_no_checks():
    for name in ("no_such_table", "../ddl", "events; drop table content"):
        with pytest.raises(ValueError, match="no data-quality checks"):
            load_checks(name)


def test_a_row_check_must_be_a_single_table_select_where(tmp_path):
    path = write_check(
        tmp_path / "events",
        "joined",
        "-- severity: warn\n-- kind: row\n"
        "select e.event_id from events e join content c on e.content_id = c.content_id",
    )
    with pytest.raises(ValueError, match="a row check must read"):
        Check.from_file(path)


def test_a_row_check_must_read_its_own_folders_table(tmp_path):
    path = write_check(
        tmp_path / "events",
        "elsewhere",
        "-- severity: warn\n-- kind: row\nselect content_id from content where title is null",
    )
    with pytest.raises(ValueError, match="a row check must read 'select <columns> from events"):
        Check.from_file(path)


def test_only_row_checks_may_quarantine(tmp_path):
    table_check = write_check(
        tmp_path / "events", "dupes", "-- severity: quarantine\nselect event_id from events"
    )
    aggregate = write_check(
        tmp_path / "events",
        "few",
        "-- severity: quarantine\n-- kind: aggregate\n"
        "select count(*) as n from events having n < 10",
    )
    for path in (table_check, aggregate):
        with pytest.raises(ValueError, match="only row checks can quarantine"):
            Check.from_file(path)


def test_row_check_keeps_its_predicate_and_drops_comments(tmp_path):
    path = write_check(
        tmp_path / "events",
        "long_watch",
        "-- severity: quarantine\n-- kind: row\n-- description: d\n-- why this exists\n"
        "select event_id, watch_seconds from events\nwhere watch_seconds > 86400;\n",
    )
    check = Check.from_file(path)
    assert (check.name, check.table, check.kind, check.severity, check.description) == (
        "long_watch",
        "events",
        "row",
        "quarantine",
        "d",
    )
    assert check.predicate == "watch_seconds > 86400"
    assert check.sql == "select event_id, watch_seconds from events\nwhere watch_seconds > 86400;"


def test_header_keys_and_values_are_case_insensitive_where_they_must_be(tmp_path):
    path = write_check(
        tmp_path / "events",
        "shouty",
        "--SEVERITY: FAIL\n-- Kind :  Row  \nselect event_id from events where device = 'TV'",
    )
    check = Check.from_file(path)
    assert (check.severity, check.kind, check.predicate) == ("fail", "row", "device = 'TV'")


def test_a_check_without_kind_is_a_table_check(tmp_path):
    path = write_check(
        tmp_path / "events",
        "dupes",
        "-- severity: fail\nselect event_id, count(*) from events group by event_id "
        "having count(*) > 1",
    )
    check = Check.from_file(path)
    assert (check.kind, check.predicate, check.measures, check.having) == (
        "table",
        None,
        None,
        None,
    )


# -- aggregate checks --------------------------------------------------------------------


def test_an_aggregate_check_splits_into_measures_slice_condition_and_observation(tmp_path):
    path = write_check(
        tmp_path / "events",
        "enough",
        "-- severity: warn\n-- kind: aggregate\n-- observe: rows_today\n-- description: d\n"
        "select count(*) as rows_today, max(event_ts) as newest\nfrom events\n"
        "where _ingest_date = {run_date}\nhaving rows_today < 10 or newest is null\n",
    )
    check = Check.from_file(path)
    assert (check.kind, check.measures, check.predicate, check.having, check.observe) == (
        "aggregate",
        "count(*) as rows_today, max(event_ts) as newest",
        "_ingest_date = {run_date}",
        "rows_today < 10 or newest is null",
        "rows_today",
    )


def test_an_aggregate_check_may_read_the_whole_table(tmp_path):
    path = write_check(
        tmp_path / "content",
        "any",
        "-- severity: warn\n-- kind: aggregate\nselect count(*) as n from content having n = 0",
    )
    check = Check.from_file(path)
    assert (check.measures, check.predicate, check.having, check.observe) == (
        "count(*) as n",
        None,
        "n = 0",
        None,
    )


@pytest.mark.parametrize(
    "body",
    [
        "select count(*) as n from events where _ingest_date = {run_date}",  # no having
        "select count(*) as n from content having n = 0",  # not its folder's table
        "select count(*) as n from events e join content c on e.content_id = c.content_id "
        "having n = 0",
        "with x as (select 1) select count(*) as n from events having n = 0",
    ],
)
def test_a_malformed_aggregate_check_is_refused(tmp_path, body):
    path = write_check(tmp_path / "events", "bad", f"-- severity: warn\n-- kind: aggregate\n{body}")
    with pytest.raises(ValueError, match="an aggregate check must read 'select <aggregates>"):
        Check.from_file(path)


@pytest.mark.parametrize(
    ("body", "observe", "message"),
    [
        ("select count(*) from events having count(*) = 0", None, "needs an alias"),
        ("select count(*) as n from events having count(*) < 10", None, "may not call"),
        ("select count(*) as n from events having n = 0", "rows", "observe names 'rows'"),
    ],
)
def test_an_aggregate_check_names_its_aggregates_by_alias(tmp_path, body, observe, message):
    # The HAVING is judged on the one row of aggregates, where only the aliases exist;
    # a subquery of its own may aggregate (the volume check's history does).
    header = "-- severity: warn\n-- kind: aggregate\n"
    if observe:
        header += f"-- observe: {observe}\n"
    path = write_check(tmp_path / "events", "bad", header + body)
    with pytest.raises(ValueError, match=message):
        Check.from_file(path)
    fine = write_check(
        tmp_path / "events",
        "fine",
        header.replace(f"-- observe: {observe}\n", "")
        + "select count(*) as n from events having n > (select avg(x) from history)",
    )
    assert Check.from_file(fine).having == "n > (select avg(x) from history)"


def test_only_aggregate_checks_observe_a_value(tmp_path):
    path = write_check(
        tmp_path / "events",
        "observed",
        "-- severity: warn\n-- observe: n\nselect event_id from events where watch_seconds < 0",
    )
    with pytest.raises(ValueError, match="only aggregate checks observe a value"):
        Check.from_file(path)


# -- run date ----------------------------------------------------------------------------


def test_run_date_is_bound_as_a_date_literal_only():
    sql = "select 1 from events where event_date = {run_date} or _ingest_date = {run_date}"
    assert bind_run_date(sql, RUN_DATE) == (
        "select 1 from events where event_date = DATE '2026-11-01' "
        "or _ingest_date = DATE '2026-11-01'"
    )
    assert bind_run_date("select 1", RUN_DATE) == "select 1"
    with pytest.raises(TypeError, match="run_date must be a datetime.date, got str"):
        bind_run_date(sql, "2026-11-01'; drop table events; --")
    with pytest.raises(TypeError):
        bind_run_date(sql, None)


# -- which checks share the one scan -----------------------------------------------------


def test_fused_scan_keeps_to_the_run_slice_only_when_every_predicate_is_within_it():
    within = row_check("_ingest_date = {run_date} and watch_seconds > 86400")
    spaced = row_check("_ingest_date  =  {run_date}\n  and (device is null or device = 'x')")
    assert shared_run_slice([within, spaced]) == "_ingest_date = {run_date}"
    assert shared_run_slice([row_check("_ingest_date={run_date}")]) == "_ingest_date={run_date}"
    assert shared_run_slice([within, row_check("_INGEST_DATE = {run_date}")]) == (
        "_ingest_date = {run_date}"
    )
    # an "or" inside a string literal or parentheses does not widen the slice
    quoted = row_check("_ingest_date = {run_date} and device = 'tv or web'")
    nested = row_check("_ingest_date = {run_date} and (a or (b or c)) and d")
    assert shared_run_slice([within, quoted, nested]) == "_ingest_date = {run_date}"
    # "and" binds tighter than "or": these also count rows of other days
    assert shared_run_slice([within, row_check("_ingest_date = {run_date} and a or b")]) is None
    assert shared_run_slice([within, row_check("_ingest_date = {run_date} OR a")]) is None
    assert shared_run_slice([within, row_check("device = 'x'")]) is None
    assert shared_run_slice([within, row_check("event_date = {run_date} and a")]) is None
    assert shared_run_slice([within, row_check("_ingest_date > {run_date} and a")]) is None
    assert shared_run_slice([row_check(None)]) is None
    assert shared_run_slice([]) is None


def test_an_aggregate_check_fuses_only_when_it_reads_exactly_the_scanned_rows():
    run_slice = "_ingest_date = {run_date}"
    assert fuses_with(aggregate_check("_ingest_date = {run_date}"), run_slice)
    assert fuses_with(aggregate_check("  _INGEST_DATE =\n {run_date} "), run_slice)
    assert fuses_with(aggregate_check(None), None)
    assert not fuses_with(aggregate_check(None), run_slice)  # whole table vs one day
    assert not fuses_with(aggregate_check(run_slice), None)  # one day vs whole table
    assert not fuses_with(aggregate_check("event_date = {run_date}"), run_slice)
    assert not fuses_with(aggregate_check("_ingest_date = {run_date} and a"), run_slice)
    assert not fuses_with(row_check(run_slice), run_slice)
    table_check = Check("t", "events", "warn", "", "select 1 from events")
    assert not fuses_with(table_check, None)
    key_check = Check("u", "events", "fail", "", "", kind="unique", key="event_id")
    assert fuses_with(key_check, None)
    assert not fuses_with(key_check, run_slice)


# -- results -----------------------------------------------------------------------------


def test_a_result_status_follows_the_count_and_the_severity():
    def result(severity, count, kind="table"):
        check = Check("c", "events", severity, "d", "select 1", kind=kind)
        return CheckResult(check, RUN_DATE, 3, count, (), 0)

    assert [result(s, 0).status for s in ("warn", "fail")] == ["pass", "pass"]
    assert result("quarantine", 0, "row").status == "pass"
    assert result("warn", 2).status == "warn"
    assert result("fail", 1).status == "fail"
    assert result("quarantine", 4, "row").status == "quarantined"


def test_a_failed_gate_names_each_check_its_table_and_sample_keys():
    check = Check("content_id_unique", "content", "fail", "one row per id", "select 1")
    failure = CheckResult(check, RUN_DATE, 7, 2, ("c000001", "c000002"), 12)
    error = DataQualityError([failure])
    assert error.failures == [failure]
    assert str(error) == (
        "data-quality gate failed:\n  check content_id_unique on table content for "
        "2026-11-01: 2 violating rows (sample keys: c000001, c000002) - one row per id"
    )
    assert SAMPLE_SIZE == 5
