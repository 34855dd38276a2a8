"""Landing columns against the contract (no Spark)."""

import logging

from contentlake.schema_drift import (
    ExtraColumns,
    columns_by_file,
    compare_columns,
    contract_violation,
    decide_extra_columns,
    log_extra_columns,
)

REQUIRED = ("event_id", "watch_seconds", "device")


def test_columns_match_by_name_ignoring_case_blanks_and_order():
    checked = compare_columns("a.csv", [" Device", "WATCH_SECONDS ", "event_id"], REQUIRED)
    assert checked.columns == ("device", "watch_seconds", "event_id")
    assert (checked.missing, checked.extra, checked.duplicated) == ((), (), ())
    assert contract_violation([checked]) is None


def test_missing_and_duplicated_columns_name_the_file_and_column():
    lacking = compare_columns("/l/a.csv", ["event_id", "device"], REQUIRED)
    doubled = compare_columns(
        "/l/b.csv", ["event_id", "watch_seconds", "device", "Device"], REQUIRED
    )
    assert contract_violation([lacking, doubled]) == (
        "landing files break the column contract: /l/a.csv lacks required column(s) "
        "watch_seconds; /l/b.csv names column(s) device more than once"
    )


def test_extra_columns_are_listed_once_in_file_order_and_blank_names_are_extras():
    checked = compare_columns("a.csv", [*REQUIRED, "os", "", "", "os_version"], REQUIRED)
    assert checked.extra == ("os", "", "os_version")
    assert checked.duplicated == ()
    assert columns_by_file([checked]) == {"os": ["a.csv"], "": ["a.csv"], "os_version": ["a.csv"]}


def test_ignore_drops_every_extra_column():
    assert decide_extra_columns(["os", "app"], "ignore") == ExtraColumns(
        keep=(), dropped=("app", "os")
    )


def test_evolve_keeps_plain_names_but_not_reserved_or_unsafe_ones():
    extra = decide_extra_columns(
        ["os", "app version", "", "source_file", "os"], "evolve", reserved=("source_file",)
    )
    assert extra == ExtraColumns(keep=("os",), dropped=("", "app version", "source_file"))
    assert extra.details() == {
        "extra_columns.evolved": "os",
        "extra_columns.ignored": "'','app version','source_file'",
    }
    assert decide_extra_columns([], "evolve").details() == {}


def test_ignored_columns_are_logged_as_warnings_with_their_files(caplog):
    with caplog.at_level(logging.INFO, logger="contentlake.schema_drift"):
        log_extra_columns(
            "events", {"os": ["a.csv", "b.csv"]}, ExtraColumns(keep=(), dropped=("os",))
        )
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "events landing column 'os' is not in the contract and is ignored (in a.csv, b.csv)"
    )
