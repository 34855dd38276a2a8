"""The table fingerprint: blind to row and column order, sensitive to every value."""

import pytest

from contentlake.content_hash import content_hash

SCHEMA = "id string, n int, tags map<string,int>"
ROWS = [("a", 1, {"x": 1, "y": 2}), ("b", None, {}), ("c", 3, None)]


def test_row_and_column_order_and_map_order_do_not_matter(spark):
    df = spark.createDataFrame(ROWS, SCHEMA)
    shuffled_df = spark.createDataFrame(
        [(3, None, "c"), (None, {}, "b"), (1, {"y": 2, "x": 1}, "a")],
        "n int, tags map<string,int>, id string",
    ).repartition(3)
    assert content_hash(shuffled_df) == content_hash(df)
    assert content_hash(df).startswith("3:")


@pytest.mark.parametrize(
    "rows",
    [
        ROWS + [ROWS[0]],  # a duplicated row
        ROWS[:2],  # a missing row
        [("a", 1, {"x": 1, "y": 3}), *ROWS[1:]],  # one changed value
        [("a", None, {"x": 1, "y": 2}), ("b", 1, {}), ROWS[2]],  # a value moved between rows
    ],
    ids=["duplicate", "missing", "changed", "moved"],
)
def test_any_difference_in_the_rows_changes_the_hash(spark, rows):
    assert content_hash(spark.createDataFrame(rows, SCHEMA)) != content_hash(
        spark.createDataFrame(ROWS, SCHEMA)
    )


def test_excluded_columns_are_ignored_and_must_exist(spark):
    df = spark.createDataFrame(ROWS, SCHEMA)
    other_df = spark.createDataFrame([(r[0], 99, r[2]) for r in ROWS], SCHEMA)
    assert content_hash(df, exclude=["n"]) == content_hash(other_df, exclude=["n"])
    with pytest.raises(ValueError, match="finished_at"):
        content_hash(df, exclude=["finished_at"])


def test_an_empty_table_hashes_to_zero(spark):
    assert content_hash(spark.createDataFrame([], SCHEMA)) == "0:0"
