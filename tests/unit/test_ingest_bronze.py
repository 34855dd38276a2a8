"""The bronze frames the ingests land, built without writing them (no Delta)."""

from datetime import date

from chispa import assert_df_equality
from contentlake.jobs import ingest_catalog, ingest_events

RUN_DATE = date(2026, 11, 1)


def test_a_quiet_catalogue_day_lands_no_lines(spark):
    lines_df = ingest_catalog.landing_lines(spark, (), RUN_DATE)
    expected_df = spark.createDataFrame(
        [], "raw_line string, source_file string, _ingest_date date"
    )
    assert_df_equality(lines_df, expected_df, ignore_nullable=True)


def test_catalogue_lines_are_read_verbatim_without_blank_lines(spark, tmp_path):
    part = tmp_path / "part-0.jsonl"
    part.write_text('{"content_id": "c1"}\n\n   \n{"content_id": "c2"}\n')
    lines_df = ingest_catalog.landing_lines(spark, (part,), RUN_DATE)
    expected_df = spark.createDataFrame(
        [
            ('{"content_id": "c1"}', f"file:{part}", RUN_DATE),
            ('{"content_id": "c2"}', f"file:{part}", RUN_DATE),
        ],
        "raw_line string, source_file string, _ingest_date date",
    )
    assert_df_equality(lines_df, expected_df, ignore_nullable=True, ignore_row_order=True)


def test_a_quiet_event_day_lands_no_rows_of_the_bronze_shape(spark):
    rows_df = ingest_events.bronze_rows(spark, [], (), RUN_DATE)
    expected_df = spark.createDataFrame(
        [],
        "event_id string, user_id string, content_id string, event_type string, "
        "event_ts string, watch_seconds string, device string, _corrupt_record string, "
        "source_file string, _ingest_date date",
    )
    assert_df_equality(rows_df, expected_df, ignore_nullable=True)
