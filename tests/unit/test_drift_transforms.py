"""The drift transforms on tiny inline DataFrames, against values computed by hand.

PSI and Jensen-Shannon are worked out below with plain ``math`` from the shares each case
implies, and checked against scipy's ``jensenshannon`` too when scipy is installed.
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from chispa import assert_approx_df_equality, assert_df_equality

from contentlake.transforms.drift import (
    bin_shares,
    distribution_drift,
    embedding_drift,
    filter_periods,
    quantile_edges,
    unpivot_categories,
    unpivot_metrics,
    unpivot_values,
    with_quantile_bins,
    with_warn_thresholds,
)

RUN_DATE = date(2026, 11, 10)
EPSILON = 1e-4
PRECISION = 1e-12
DRIFT_SCHEMA = (
    "feature string, psi double, js_divergence double, current_rows bigint, baseline_rows bigint"
)


def psi(p: list[float], q: list[float], epsilon: float = EPSILON) -> float:
    """Sum of (p - q) ln(p / q) with shares floored at epsilon."""
    return sum(
        (max(a, epsilon) - max(b, epsilon)) * math.log(max(a, epsilon) / max(b, epsilon))
        for a, b in zip(p, q, strict=True)
    )


def js_bits(p: list[float], q: list[float]) -> float:
    """(KL(p||m) + KL(q||m)) / 2 in bits, 0 log 0 = 0."""
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    kl = lambda x: sum(a * math.log2(a / c) for a, c in zip(x, m, strict=True) if a > 0)  # noqa: E731
    return (kl(p) + kl(q)) / 2


def test_hand_computed_divergences_agree_with_scipy() -> None:
    distance = pytest.importorskip("scipy.spatial.distance")
    p, q = [0.25, 0.5, 0.25], [0.5, 0.5, 0.0]
    # KL(p||m) = 0.25 log2(2/3) + 0.25 log2(2); KL(q||m) = 0.5 log2(4/3)
    by_hand = (0.25 * math.log2(2 / 3) + 0.25 + 0.5 * math.log2(4 / 3)) / 2
    assert js_bits(p, q) == pytest.approx(by_hand, abs=1e-15)
    assert js_bits(p, q) == pytest.approx(distance.jensenshannon(p, q, base=2) ** 2, abs=1e-12)


def test_filter_periods_keeps_the_run_date_and_the_trailing_window(spark) -> None:
    df = spark.createDataFrame(
        [(1, date(2026, 11, 2)), (2, date(2026, 11, 3)), (3, date(2026, 11, 9)),
         (4, date(2026, 11, 10)), (5, date(2026, 11, 11))],
        "id int, day date",
    )  # fmt: skip
    expected_df = spark.createDataFrame(
        [(2, date(2026, 11, 3), "baseline"), (3, date(2026, 11, 9), "baseline"),
         (4, date(2026, 11, 10), "current")],
        "id int, day date, period string",
    )  # fmt: skip
    assert_df_equality(
        filter_periods(df, "day", RUN_DATE, 7),
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_quantile_edges_are_the_baseline_s_distinct_interior_quantiles(spark) -> None:
    values_df = spark.createDataFrame(
        [("baseline", "x", float(v)) for v in range(1, 11)]
        # Mostly zero: every interior quantile is 0, so one edge and a bin of its own for 0.
        + [("baseline", "zeros", 0.0)] * 8
        + [("baseline", "zeros", 3.0), ("baseline", "zeros", 5.0)]
        # The run date's values and nulls play no part in the edges.
        + [("current", "x", 100.0), ("baseline", "x", None)]
        + [("current", "no_baseline", 1.0)],
        "period string, feature string, value double",
    )
    expected_df = spark.createDataFrame(
        [("x", [2.0, 4.0, 6.0, 8.0]), ("zeros", [0.0])], "feature string, edges array<double>"
    )
    assert_df_equality(
        quantile_edges(values_df, 5), expected_df, ignore_row_order=True, ignore_nullable=True
    )


def test_bins_are_closed_on_the_right_and_null_has_its_own(spark) -> None:
    values_df = spark.createDataFrame(
        [("current", "x", v) for v in (-1.0, 0.0, 0.5, 3.0, 3.1, 9.0, None)]
        + [("current", "unseen", 7.0)],
        "period string, feature string, value double",
    )
    edges_df = spark.createDataFrame([("x", [0.0, 3.0])], "feature string, edges array<double>")
    expected_df = spark.createDataFrame(
        [("x", "current", -1.0, "0"), ("x", "current", 0.0, "0"), ("x", "current", 0.5, "1"),
         ("x", "current", 3.0, "1"), ("x", "current", 3.1, "2"), ("x", "current", 9.0, "2"),
         ("x", "current", None, "null"),
         # no baseline, no edges: one bin
         ("unseen", "current", 7.0, "0")],
        "feature string, period string, value double, bin string",
    )  # fmt: skip
    assert_df_equality(
        with_quantile_bins(values_df, edges_df),
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_numeric_features_end_to_end_psi_and_js(spark) -> None:
    """x: baseline 1,2,3,4 (median 2, bins <=2 and >2: shares 1/2, 1/2, null 0); run date
    1,5,6,null (shares 1/4, 1/2, null 1/4). same: identical days. new: no baseline."""
    features_df = spark.createDataFrame(
        [(date(2026, 11, 8), 1.0, 3), (date(2026, 11, 8), 2.0, 3),
         (date(2026, 11, 9), 3.0, 4), (date(2026, 11, 9), 4.0, 4),
         (RUN_DATE, 1.0, 3), (RUN_DATE, 5.0, 3), (RUN_DATE, 6.0, 4), (RUN_DATE, None, 4),
         # outside the window: ignored
         (date(2026, 10, 1), 100.0, 9)],
        "feature_date date, x double, same int",
    )  # fmt: skip
    values_df = filter_periods(features_df, "feature_date", RUN_DATE, 7).transform(
        unpivot_values, ["x", "same"]
    )
    drift_df = (
        with_quantile_bins(values_df, quantile_edges(values_df, 2))
        .transform(bin_shares)
        .transform(distribution_drift, EPSILON)
    )
    p, q = [0.25, 0.5, 0.25], [0.5, 0.5, 0.0]
    expected_df = spark.createDataFrame(
        [("x", psi(p, q), js_bits(p, q), 4, 4), ("same", 0.0, 0.0, 4, 4)], DRIFT_SCHEMA
    )
    assert_approx_df_equality(
        drift_df, expected_df, PRECISION, ignore_row_order=True, ignore_nullable=True
    )
    # (0.25 - 0.5) ln(1/2) + 0 + (0.25 - 1e-4) ln(0.25 / 1e-4)
    assert psi(p, q) == pytest.approx(0.25 * math.log(2) + 0.2499 * math.log(2500), abs=1e-15)


def test_a_feature_without_a_baseline_has_no_divergence(spark) -> None:
    shares_df = spark.createDataFrame(
        [("new", "0", 1.0, None, 3, 0)],
        "feature string, bin string, current_share double, baseline_share double, "
        "current_rows bigint, baseline_rows bigint",
    )
    expected_df = spark.createDataFrame([("new", None, None, 3, 0)], DRIFT_SCHEMA)
    assert_df_equality(distribution_drift(shares_df, EPSILON), expected_df, ignore_nullable=True)


def test_categorical_mix_counts_a_vanished_and_a_new_category(spark) -> None:
    """Baseline: play, play, click, (no device) ; run date: play, share, share, share."""
    events_df = spark.createDataFrame(
        [("baseline", "play", "tv"), ("baseline", "play", "tv"), ("baseline", "click", None),
         ("current", "play", "tv"), ("current", "share", "tv"), ("current", "share", "tv"),
         ("current", "share", "tv")],
        "period string, event_type string, device string",
    )  # fmt: skip
    shares_df = unpivot_categories(events_df, ["event_type", "device"]).transform(bin_shares)
    expected_shares_df = spark.createDataFrame(
        [("event_type", "play", 0.25, 2 / 3, 4, 3), ("event_type", "click", 0.0, 1 / 3, 4, 3),
         ("event_type", "share", 0.75, 0.0, 4, 3),
         ("device", "tv", 1.0, 2 / 3, 4, 3), ("device", "null", 0.0, 1 / 3, 4, 3)],
        "feature string, bin string, current_share double, baseline_share double, "
        "current_rows bigint, baseline_rows bigint",
    )  # fmt: skip
    assert_approx_df_equality(
        shares_df, expected_shares_df, PRECISION, ignore_row_order=True, ignore_nullable=True
    )
    p_type, q_type = [0.25, 0.0, 0.75], [2 / 3, 1 / 3, 0.0]
    p_device, q_device = [1.0, 0.0], [2 / 3, 1 / 3]
    expected_df = spark.createDataFrame(
        [("event_type", psi(p_type, q_type), js_bits(p_type, q_type), 4, 3),
         ("device", psi(p_device, q_device), js_bits(p_device, q_device), 4, 3)],
        DRIFT_SCHEMA,
    )  # fmt: skip
    assert_approx_df_equality(
        distribution_drift(shares_df, EPSILON),
        expected_df,
        PRECISION,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_unpivot_metrics_and_thresholds(spark) -> None:
    drift_df = spark.createDataFrame([("x", 0.5, None, 4, 3)], DRIFT_SCHEMA)
    metrics_df = unpivot_metrics(drift_df, ("psi", "js_divergence")).transform(
        with_warn_thresholds, {"psi": 0.2, "mean_cosine_distance": 0.05}
    )
    expected_df = spark.createDataFrame(
        [("x", "psi", 0.5, 4, 3, 0.2), ("x", "js_divergence", None, 4, 3, None)],
        "feature string, metric string, value double, current_rows bigint, "
        "baseline_rows bigint, warn_threshold double",
    )
    assert_df_equality(metrics_df, expected_df, ignore_row_order=True, ignore_nullable=True)


EMBEDDING_SCHEMA = "content_id string, embedding array<float>"
EMBEDDING_DRIFT_SCHEMA = (
    "feature string, mean_cosine_distance double, mean_l2_shift double, changed_share double, "
    "added_share double, current_rows bigint, baseline_rows bigint"
)


def test_embedding_drift_of_two_versions(spark) -> None:
    baseline_df = spark.createDataFrame(
        [("c1", [1.0, 0.0]), ("c2", [0.0, 1.0]), ("c3", [1.0, 0.0])], EMBEDDING_SCHEMA
    )
    # c1 kept as it was, c2 re-embedded, c3 gone, c4 new
    current_df = spark.createDataFrame(
        [("c1", [1.0, 0.0]), ("c2", [0.5, 0.5]), ("c4", [0.0, 1.0])], EMBEDDING_SCHEMA
    )
    before, after = (2 / 3, 1 / 3), (1.5 / 3, 1.5 / 3)
    dot = before[0] * after[0] + before[1] * after[1]
    cosine = 1 - dot / (math.hypot(*before) * math.hypot(*after))
    l2 = math.hypot(after[0] - before[0], after[1] - before[1])
    expected_df = spark.createDataFrame(
        [("embedding", cosine, l2, 1 / 2, 1 / 3, 3, 3)], EMBEDDING_DRIFT_SCHEMA
    )
    assert_approx_df_equality(
        embedding_drift(baseline_df, current_df), expected_df, PRECISION, ignore_nullable=True
    )


def test_embedding_drift_across_dimensions_and_without_a_baseline(spark) -> None:
    baseline_df = spark.createDataFrame([("c1", [1.0, 0.0])], EMBEDDING_SCHEMA)
    current_df = spark.createDataFrame([("c1", [1.0, 0.0, 0.0])], EMBEDDING_SCHEMA)
    # A new model of another dimension: the means do not compare, every vector changed.
    expected_df = spark.createDataFrame(
        [("embedding", None, None, 1.0, 0.0, 1, 1)], EMBEDDING_DRIFT_SCHEMA
    )
    assert_df_equality(embedding_drift(baseline_df, current_df), expected_df, ignore_nullable=True)
    # The first run: nothing to compare with.
    expected_df = spark.createDataFrame(
        [("embedding", None, None, None, None, 1, 0)], EMBEDDING_DRIFT_SCHEMA
    )
    assert_df_equality(
        embedding_drift(baseline_df.limit(0), current_df), expected_df, ignore_nullable=True
    )
