"""``measure_drift`` on a tiny lakehouse over two days, on real Spark and Delta.

Day 2 is shifted from day 1 in some ways and not in others, so each shift has its control:
other event types on the same devices, ten times the views and another completion rate
but the same watch fraction and release age, and one item re-described and one new (which
``embed_content`` re-embeds with the tiny model). Events and features are written straight
into their tables: what is under test is the drift job, which reads them, and the versions
``embed_content`` records.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from contentlake.jobs import embed_content, measure_drift
from contentlake.jobs.measure_drift import EVENT_MIX, FEATURES
from pyspark.sql import functions as F

from contentlake.config import load_config
from contentlake.tables import ensure_tables, table_version

# Two days of features and events of its own: the slow suite, as is the e2e pipeline test,
# which checks drift rows for every day of the demo.
pytestmark = pytest.mark.slow

DATABASE = "t_measure_drift"
DAYS = [date(2026, 11, 1), date(2026, 11, 2)]
SHIFTED = DAYS[1]
ITEMS = [f"c00000{n}" for n in range(1, 7)]
# One row per (subject, metric, feature): 10 features and 2 mixes x (psi, js), 4 embedding
# metrics, 1 neighbour overlap.
ROWS_PER_DAY = len(FEATURES) * 2 + len(EVENT_MIX) * 2 + 4 + 1


def content_rows(day: date, titles: dict[str, str]) -> list[tuple]:
    return [
        (cid, "movie", title, f"About {title}.", ["drama"], ["calm"], "en", 5400,
         date(2026, 1, 1), datetime(2026, 10, 31, 10), None, None, None, day)
        for cid, title in titles.items()
    ]  # fmt: skip


def event_rows(day: date, shifted: bool) -> list[tuple]:
    if shifted:
        mix = [("share", "tv")] * 6 + [("share", "mobile")] * 4
    else:
        mix = [("play", "tv")] * 4 + [("impression", "mobile")] * 4 + [("click", "tv")] * 2
    start = datetime(day.year, day.month, day.day, 20)
    return [
        (f"e{day:%Y%m%d}{n:07d}", "u1", ITEMS[n % len(ITEMS)], event_type,
         start + timedelta(minutes=n), day, None, device, day)
        for n, (event_type, device) in enumerate(mix)
    ]  # fmt: skip


def feature_rows(day: date, shifted: bool) -> list[tuple]:
    views = [10, 20, 30, 40, 50, 60] if shifted else [0, 0, 1, 2, 3, 5]
    completion = 0.9 if shifted else 0.5
    return [
        (cid, day, v, 7 * v, 28 * v, v, 2 * v, completion, 0.4, 0.1, 1, 100)
        for cid, v in zip(ITEMS, views, strict=True)
    ]


def land_day(spark, day: date) -> None:
    shifted = day == SHIFTED
    for table, rows in (
        ("events", event_rows(day, shifted)),
        ("content_daily_features", feature_rows(day, shifted)),
    ):
        spark.createDataFrame(rows, spark.table(table).schema).writeTo(table).append()
    titles = {cid: f"Film {cid}" for cid in ITEMS}
    if shifted:
        titles |= {"c000001": "A storm at sea", "c000007": "Film c000007"}
    spark.createDataFrame(content_rows(day, titles), spark.table("content").schema).writeTo(
        "content"
    ).overwrite(F.lit(True))


def metrics(spark, day: date) -> dict[tuple[str, str, str], float | None]:
    rows = spark.table("drift_metrics").where(F.col("run_date") == F.lit(day)).collect()
    return {(r.subject, r.feature, r.metric): r.value for r in rows}


def drift_checks(spark, day: date) -> dict[str, str]:
    rows = (
        spark.table("dq_results")
        .where((F.col("job") == "measure_drift") & (F.col("run_date") == F.lit(day)))
        .collect()
    )
    return {r.check_name: r.status for r in rows}


@pytest.fixture(scope="module")
def drifted_lake(spark, tmp_path_factory, tiny_model):
    """The two days, each embedded and measured: built once for the module."""
    spark.sql(f"drop database if exists {DATABASE} cascade")
    cfg = load_config(
        "local",
        root=tmp_path_factory.mktemp("drift"),
        overrides={"database": DATABASE, **tiny_model},
    )
    ensure_tables(spark, cfg)
    for day in DAYS:
        land_day(spark, day)
        embed_content.run(spark, cfg, day, f"run-{day}")
        measure_drift.run(spark, cfg, day, f"run-{day}")
    return cfg


def test_drift_rows_for_every_run_date_and_a_warning_on_the_shifted_day(spark, drifted_lake):
    first, shifted = (metrics(spark, day) for day in DAYS)
    assert [len(first), len(shifted)] == [ROWS_PER_DAY] * 2

    # Day 1 has no baseline: every value is null ("nothing to compare").
    assert set(first.values()) == {None}

    # Day 2 against day 1: far past the 0.2 PSI threshold where it was shifted...
    for feature in ("views_1d", "views_28d", "unique_viewers_7d", "completion_rate_28d"):
        assert shifted["content_daily_features", feature, "psi"] > 0.2, feature
        assert shifted["content_daily_features", feature, "js_divergence"] > 0.05, feature
    assert shifted["events", "event_type", "psi"] > 0.2
    # Disjoint supports (play, impression, click, then only share): 1 bit, the largest.
    assert shifted["events", "event_type", "js_divergence"] == pytest.approx(1.0, abs=1e-12)
    # ... and exactly 0 where it was not.
    for feature in ("mean_watch_fraction_28d", "days_since_release"):
        assert shifted["content_daily_features", feature, "psi"] == 0.0, feature
        assert shifted["content_daily_features", feature, "js_divergence"] == 0.0, feature
    assert shifted["events", "device", "psi"] == 0.0
    # c000001 re-described (1 of the 6 kept items), c000007 new (1 of 7).
    assert shifted["content_embeddings", "embedding", "changed_share"] == pytest.approx(1 / 6)
    assert shifted["content_embeddings", "embedding", "added_share"] == pytest.approx(1 / 7)
    assert 0.0 < shifted["content_embeddings", "embedding", "mean_l2_shift"] < 2.0
    # No snapshot was published in this lakehouse: the overlap stays unmeasured.
    assert shifted["index_snapshot", "neighbours", "neighbour_overlap_at_10"] is None

    drift_check_names = {
        "features_stable",
        "event_mix_stable",
        "embeddings_stable",
        "neighbours_stable",
        "values_finite",
        "one_row_per_metric",
    }
    assert drift_checks(spark, DAYS[0]) == dict.fromkeys(drift_check_names, "pass")
    assert drift_checks(spark, SHIFTED) == {
        **dict.fromkeys(drift_check_names, "pass"),
        "features_stable": "warn",
        "event_mix_stable": "warn",
    }
    run = (
        spark.table("job_runs")
        .where((F.col("job") == "measure_drift") & (F.col("run_date") == F.lit(SHIFTED)))
        .first()
    )
    assert (run.status, run.rows_written) == ("succeeded", ROWS_PER_DAY)
    assert run.details["warnings"] == "event_mix_stable, features_stable"

    row = (
        spark.table("drift_metrics")
        .where(
            (F.col("run_date") == F.lit(SHIFTED))
            & (F.col("subject") == "events")
            & (F.col("feature") == "event_type")
            & (F.col("metric") == "psi")
        )
        .first()
    )
    assert (
        row.baseline_start,
        row.baseline_end,
        row.baseline_ref,
        row.current_ref,
        row.warn_threshold,
        row.baseline_rows,
        row.current_rows,
        row.run_id,
    ) == (
        date(2026, 10, 26),
        date(2026, 11, 1),
        "event_date 2026-10-26..2026-11-01",
        "event_date 2026-11-02",
        0.2,
        10,
        10,
        f"run-{SHIFTED}",
    )
    embeddings = (
        spark.table("drift_metrics")
        .where(
            (F.col("run_date") == F.lit(SHIFTED))
            & (F.col("subject") == "content_embeddings")
            & (F.col("metric") == "changed_share")
        )
        .first()
    )
    versions = {
        r.run_date: r.table_version
        for r in spark.table("dq_results")
        .where("job = 'embed_content' and check_name = 'unit_norm'")
        .collect()
    }
    assert (embeddings.baseline_ref, embeddings.current_ref, embeddings.warn_threshold) == (
        f"content_embeddings version {versions[DAYS[0]]} (embed_content {DAYS[0]})",
        f"content_embeddings version {versions[SHIFTED]} (embed_content {SHIFTED})",
        0.2,
    )
    assert versions[SHIFTED] > versions[DAYS[0]]


def test_a_rerun_replaces_the_date_s_rows_in_one_commit(spark, drifted_lake):
    before = spark.table("drift_metrics").drop("computed_at").collect()
    version = table_version(spark, "drift_metrics")

    measure_drift.run(spark, drifted_lake, SHIFTED, f"run-{SHIFTED}")

    assert table_version(spark, "drift_metrics") == version + 1
    after = spark.table("drift_metrics").drop("computed_at").collect()
    assert sorted(after) == sorted(before)
