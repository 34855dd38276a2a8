"""Drift of a run date against its baseline: distribution shift and embedding change.

Distributions (daily features, the event mix) are compared bin by bin. A row belongs to the
period ``current`` (the run date) or ``baseline`` (the ``baseline_days`` before it, pooled).
A numeric feature is cut at the baseline's quantiles (``bins`` - 1 interior cut points,
duplicates dropped, so a feature that is mostly zero gets a bin of its own for zero rather
than nine empty ones); bins are closed on the right, and a null value has its own bin. A
categorical feature's bins are its values (null its own). With ``p`` the run date's share
of a bin and ``q`` the baseline's:

* PSI = sum over bins of ``(p - q) * ln(p / q)``, with a share of zero floored at
  ``epsilon`` (not renormalised), so a bin that appears or vanishes counts, finitely: it
  then adds about ``share * ln(share / epsilon)``, which is what makes a new category loud;
* Jensen-Shannon divergence = ``(KL(p || m) + KL(q || m)) / 2`` with ``m = (p + q) / 2``, in
  bits (log base 2), so it lies in [0, 1]; it is finite without any epsilon (``0 log 0 = 0``).
  It is the square of ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.

Both are null when either period has no rows: nothing to compare.

Embeddings are compared as two versions of ``content_embeddings`` (one vector per item):
the shift of the mean vector (cosine distance and L2 distance of the two means) and the
share of the items in both versions whose vector changed, plus the share of the run date's
items that are new.

All functions are DataFrame -> DataFrame with no I/O; the job reads the tables.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

CURRENT = "current"
BASELINE = "baseline"
NULL_BIN = "null"
# percentile_approx's accuracy: a relative rank error of 1/10,000 at most, and exact
# quantiles on any baseline of up to 10,000 values per feature.
QUANTILE_ACCURACY = 10_000
DISTRIBUTION_METRICS = ("psi", "js_divergence")
EMBEDDING_METRICS = ("mean_cosine_distance", "mean_l2_shift", "changed_share", "added_share")
METRIC_COLUMNS = ("feature", "metric", "value", "current_rows", "baseline_rows")


def filter_periods(
    df: DataFrame, date_column: str, run_date: date, baseline_days: int
) -> DataFrame:
    """Rows of ``run_date`` and of the ``baseline_days`` before it, with their ``period``;
    every other row is dropped."""
    first_day = run_date - timedelta(days=baseline_days)
    day = F.col(date_column)
    return df.filter(day.between(F.lit(first_day), F.lit(run_date))).withColumn(
        "period", F.when(day == F.lit(run_date), F.lit(CURRENT)).otherwise(F.lit(BASELINE))
    )


def unpivot_values(df: DataFrame, columns: tuple[str, ...] | list[str]) -> DataFrame:
    """One row per input row and column: ``(period, feature, value)``, value as a double
    (nulls kept: a null is a bin of its own)."""
    return df.select(
        "period", *[F.col(column).cast("double").alias(column) for column in columns]
    ).unpivot(["period"], list(columns), "feature", "value")


def quantile_edges(values_df: DataFrame, bins: int) -> DataFrame:
    """``(feature, edges)``: the distinct interior quantiles of each feature's baseline
    values, ascending. A feature with no baseline value has no row."""
    probabilities = [i / bins for i in range(1, bins)]
    return (
        values_df.filter((F.col("period") == BASELINE) & F.col("value").isNotNull())
        .groupBy("feature")
        .agg(
            F.array_distinct(F.percentile_approx("value", probabilities, QUANTILE_ACCURACY)).alias(
                "edges"
            )
        )
        .select("feature", "edges")
    )


def with_quantile_bins(values_df: DataFrame, edges_df: DataFrame) -> DataFrame:
    """Adds ``bin``: how many of the feature's edges lie below the value (so the bins are
    ``(-inf, e1], (e1, e2], ..., (en, inf)``), ``null`` for a null value. A feature
    without edges (no baseline) puts every value in bin 0."""
    edges = F.coalesce(F.col("edges"), F.array().cast("array<double>"))
    below = F.size(F.filter(edges, lambda edge: edge < F.col("value")))
    return (
        values_df.join(edges_df, on="feature", how="left")
        .withColumn(
            "bin",
            F.when(F.col("value").isNull(), F.lit(NULL_BIN)).otherwise(below.cast("string")),
        )
        .drop("edges")
    )


def unpivot_categories(df: DataFrame, columns: tuple[str, ...] | list[str]) -> DataFrame:
    """``(period, feature, bin)``: each categorical column's value is its bin (``null``
    for a missing one)."""
    return (
        df.select("period", *[F.col(column).cast("string").alias(column) for column in columns])
        .unpivot(["period"], list(columns), "feature", "bin")
        .withColumn("bin", F.coalesce(F.col("bin"), F.lit(NULL_BIN)))
    )


def bin_shares(binned_df: DataFrame) -> DataFrame:
    """``(feature, bin, current_share, baseline_share, current_rows, baseline_rows)``: each
    bin's share of its period's rows of the feature (null when the period has none)."""
    per_feature = Window.partitionBy("feature")
    return (
        binned_df.groupBy("feature", "bin")
        .agg(
            F.count_if(F.col("period") == CURRENT).alias("current_count"),
            F.count_if(F.col("period") == BASELINE).alias("baseline_count"),
        )
        .withColumn("current_rows", F.sum("current_count").over(per_feature))
        .withColumn("baseline_rows", F.sum("baseline_count").over(per_feature))
        .select(
            "feature",
            "bin",
            F.try_divide("current_count", "current_rows").alias("current_share"),
            F.try_divide("baseline_count", "baseline_rows").alias("baseline_share"),
            "current_rows",
            "baseline_rows",
        )
    )


def distribution_drift(shares_df: DataFrame, epsilon: float) -> DataFrame:
    """``(feature, psi, js_divergence, current_rows, baseline_rows)`` per feature, from
    :func:`bin_shares`; both metrics null when either period has no rows."""
    p, q = F.col("current_share"), F.col("baseline_share")
    p_floored, q_floored = F.greatest(p, F.lit(epsilon)), F.greatest(q, F.lit(epsilon))
    m = (p + q) / 2
    comparable = (F.max("current_rows") > 0) & (F.max("baseline_rows") > 0)
    return shares_df.groupBy("feature").agg(
        F.when(comparable, F.sum((p_floored - q_floored) * F.ln(p_floored / q_floored))).alias(
            "psi"
        ),
        F.when(comparable, F.sum(_x_log2_x_over_m(p, m) + _x_log2_x_over_m(q, m)) / 2).alias(
            "js_divergence"
        ),
        F.max("current_rows").alias("current_rows"),
        F.max("baseline_rows").alias("baseline_rows"),
    )


def _x_log2_x_over_m(x: Column, m: Column) -> Column:
    """``x * log2(x / m)``, 0 where ``x`` is 0 (its limit)."""
    return F.when(x > 0, x * F.log2(x / m)).otherwise(F.lit(0.0))


def unpivot_metrics(drift_df: DataFrame, metrics: tuple[str, ...]) -> DataFrame:
    """One row per feature and metric: ``(feature, metric, value, current_rows,
    baseline_rows)``, the shape ``drift_metrics`` stores."""
    return (
        drift_df.select(
            "feature",
            *[F.col(metric).cast("double").alias(metric) for metric in metrics],
            F.col("current_rows").cast("bigint").alias("current_rows"),
            F.col("baseline_rows").cast("bigint").alias("baseline_rows"),
        )
        .unpivot(["feature", "current_rows", "baseline_rows"], list(metrics), "metric", "value")
        .select(*METRIC_COLUMNS)
    )


def mean_vector(embeddings_df: DataFrame) -> DataFrame:
    """``(position, mean)``: the mean of the ``embedding`` arrays, one row per dimension."""
    return (
        embeddings_df.select(F.posexplode("embedding").alias("position", "component"))
        .groupBy("position")
        .agg(F.avg(F.col("component").cast("double")).alias("mean"))
    )


def embedding_drift(baseline_df: DataFrame, current_df: DataFrame) -> DataFrame:
    """One row: ``feature`` ``embedding``, the :data:`EMBEDDING_METRICS`, ``current_rows``
    and ``baseline_rows``, from two versions of the vectors (``content_id``,
    ``embedding``; one row per item).

    The mean-vector metrics are null when either version is empty or the two means differ
    in dimension (a model change: the spaces are not comparable); ``changed_share`` is
    null when no item is in both, ``added_share`` when either version is empty.
    """
    means_df = (
        mean_vector(baseline_df)
        .withColumnRenamed("mean", "baseline_mean")
        .join(
            mean_vector(current_df).withColumnRenamed("mean", "current_mean"),
            on="position",
            how="full",
        )
        .agg(
            F.sum(F.col("baseline_mean") * F.col("current_mean")).alias("dot"),
            F.sqrt(F.sum(F.col("baseline_mean") ** 2)).alias("baseline_norm"),
            F.sqrt(F.sum(F.col("current_mean") ** 2)).alias("current_norm"),
            F.sqrt(F.sum((F.col("current_mean") - F.col("baseline_mean")) ** 2)).alias("l2"),
            F.count_if(F.col("baseline_mean").isNull() | F.col("current_mean").isNull()).alias(
                "unmatched"
            ),
            F.count(F.lit(1)).alias("positions"),
        )
    )
    comparable = (F.col("unmatched") == 0) & (F.col("positions") > 0)
    # Vectors are matched by a 64-bit hash of their values: the join then moves 8 bytes per
    # item instead of the whole vector, and a collision (2^-64 per item) is negligible.
    before, after = F.col("baseline_hash"), F.col("current_hash")
    items_df = (
        baseline_df.select("content_id", F.xxhash64("embedding").alias("baseline_hash"))
        .join(
            current_df.select("content_id", F.xxhash64("embedding").alias("current_hash")),
            on="content_id",
            how="full",
        )
        .agg(
            F.count(after).alias("current_rows"),
            F.count(before).alias("baseline_rows"),
            F.count_if(before.isNotNull() & after.isNotNull()).alias("kept"),
            F.count_if(before.isNotNull() & after.isNotNull() & (before != after)).alias("changed"),
            F.count_if(before.isNull() & after.isNotNull()).alias("added"),
        )
    )
    return means_df.crossJoin(items_df).select(
        F.lit("embedding").alias("feature"),
        F.when(
            comparable,
            1 - F.try_divide(F.col("dot"), F.col("baseline_norm") * F.col("current_norm")),
        ).alias("mean_cosine_distance"),
        F.when(comparable, F.col("l2")).alias("mean_l2_shift"),
        F.try_divide(F.col("changed"), F.col("kept")).alias("changed_share"),
        # Against an empty baseline (the first run) every item is new: nothing to compare.
        F.when(
            F.col("baseline_rows") > 0, F.try_divide(F.col("added"), F.col("current_rows"))
        ).alias("added_share"),
        "current_rows",
        "baseline_rows",
    )


def with_warn_thresholds(metrics_df: DataFrame, thresholds: dict[str, float]) -> DataFrame:
    """Adds ``warn_threshold``: ``thresholds[metric]`` of the row's metric, null for a
    metric without one (it is recorded, never warned about)."""
    if not thresholds:
        return metrics_df.withColumn("warn_threshold", F.lit(None).cast("double"))
    levels = F.create_map(
        *[F.lit(value) for metric, level in thresholds.items() for value in (metric, float(level))]
    )
    return metrics_df.withColumn("warn_threshold", levels[F.col("metric")].cast("double"))
