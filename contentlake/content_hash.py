"""An order-independent fingerprint of a table's rows, to compare runs of a job.

Two tables hash equal when they hold the same multiset of rows over the same columns,
whatever the row order, the column order, the file layout or the Delta version. The hash
is the row count plus the sum (exact, as a decimal) of ``xxhash64`` over each row's JSON,
so a duplicated or missing row changes it, unlike an XOR. JSON keeps column names, so a
value moved to another column changes it too; map columns are sorted by key first.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T


def content_hash(df: DataFrame, exclude: Iterable[str] = ()) -> str:
    """``"<rows>:<sum of row hashes>"`` over every column of ``df`` but ``exclude``."""
    skipped = set(exclude)
    unknown = skipped - set(df.columns)
    if unknown:
        raise ValueError(f"cannot exclude columns the table lacks: {sorted(unknown)}")
    columns = [
        _canonical(df, name).alias(name) for name in sorted(df.columns) if name not in skipped
    ]
    row_hash = F.xxhash64(F.to_json(F.struct(*columns))).cast("decimal(38,0)")
    totals = df.select(F.count(F.lit(1)).alias("rows"), F.sum(row_hash).alias("total")).first()
    return f"{totals['rows']}:{totals['total'] or 0}"


def _canonical(df: DataFrame, name: str) -> Column:
    """Maps keep insertion order; sort their entries so equal maps serialise equally."""
    if isinstance(df.schema[name].dataType, T.MapType):
        return F.map_from_entries(F.array_sort(F.map_entries(F.col(name))))
    return F.col(name)
