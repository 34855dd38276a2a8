"""Vector arithmetic on ``array<float|double>`` columns, in Spark expressions (no UDF).

Shared by the visual pooling, the fusion of modalities and their tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def squared_norm(vector: Column) -> Column:
    return F.aggregate(vector, F.lit(0.0).cast("double"), lambda acc, x: acc + x * x)


def l2_normalised(vector: Column) -> Column:
    """``vector`` (as doubles) divided by its L2 norm; null for a null or all-zero vector,
    which has no direction to keep.

    The norm is summed once, and the division happens in the sum's ``finish``: a norm
    written inside the ``transform`` lambda is summed again for every element (lambdas
    share no subexpressions), O(d^2) per vector, 1.7M steps for one 1,700-d fused vector.
    """

    def divided(total: Column) -> Column:
        norm = F.sqrt(total)
        return F.when(norm > 0, F.transform(vector, lambda x: x.cast("double") / norm))

    return F.aggregate(vector, F.lit(0.0).cast("double"), lambda acc, x: acc + x * x, divided)


def scaled(vector: Column, factor: float) -> Column:
    return F.transform(vector, lambda x: x * F.lit(factor))


def mean_vectors(df: DataFrame, keys: Sequence[str], vector: str, out: str) -> DataFrame:
    """One row per ``keys`` with ``out``: the element-wise mean of its ``vector`` column
    and ``members``, how many vectors were averaged.

    Exploded to one row per element and summed by position, so no group's vectors need
    to fit in one row (a genre of many items, with 1280-d vectors each).
    """
    keys = list(keys)
    elements_df = df.select(*keys, F.posexplode(vector).alias("pos", "x"))
    sums_df = elements_df.groupBy(*keys, "pos").agg(
        F.sum(F.col("x").cast("double")).alias("total"), F.count("*").alias("members")
    )
    return (
        sums_df.groupBy(*keys)
        .agg(
            F.transform(
                F.array_sort(F.collect_list(F.struct("pos", "total"))),
                lambda e: e["total"],
            ).alias("sum_vector"),
            F.max("members").alias("members"),
        )
        .select(
            *keys,
            F.transform("sum_vector", lambda x: x / F.col("members")).alias(out),
            "members",
        )
    )
