"""Reading ``content_entities`` as of a run date (jobs/resolve_entities.py writes it)."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.errors import JobFailed


def entities_as_of(
    spark: SparkSession, run_date: date, version: int | None = None, before: bool = False
) -> DataFrame | None:
    """(content_id, canonical_id) of the last resolved date up to ``run_date`` (strictly
    before it with ``before``), read at ``version`` when given; None when there is none."""
    reader = spark.read
    if version is not None:
        reader = reader.option("versionAsOf", version)
    table_df = reader.table("content_entities")
    in_range = F.col("resolved_date") < F.lit(run_date)
    if not before:
        in_range = F.col("resolved_date") <= F.lit(run_date)
    last = table_df.filter(in_range).agg(F.max("resolved_date")).first()[0]
    if last is None:
        return None
    return table_df.filter(F.col("resolved_date") == F.lit(last)).select(
        "content_id", "canonical_id"
    )


def require_entities(spark: SparkSession, run_date: date, version: int | None = None) -> DataFrame:
    """:func:`entities_as_of`, or a :class:`JobFailed` naming the job that writes them."""
    entities_df = entities_as_of(spark, run_date, version)
    if entities_df is None:
        raise JobFailed(
            f"no content_entities up to {run_date}: run resolve_entities first "
            "(index.one_per_entity is on)"
        )
    return entities_df
