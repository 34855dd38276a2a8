"""``retrieval_eval`` on Delta: a rerun of a date replaces its snapshot's row, and the
judgments are collected (and sampled) from the current database's ``events`` and
``content``.

The module's database holds only the table under test, created from its DDL file (the
whole lakehouse's DDL is applied in ``tests/unit/test_tables.py``); ``events`` and
``content`` are temporary views of a few rows.
"""

import base64
from datetime import date, datetime

import pytest
from chispa import assert_df_equality

from contentlake.config import load_config
from contentlake.report import _evaluation_plot, _retrieval_evaluations
from contentlake.retrieval_eval import (
    RETRIEVAL_EVAL_SCHEMA,
    qrels_from_events,
    record_evaluation,
)
from contentlake.sql_files import DDL_DIR, sql_statements
from contentlake.tables import table_version
from contentlake.transforms.relevance import held_out_window

DATABASE = "retrieval_eval_table"
RUN_DATE = date(2026, 11, 28)
WINDOW = held_out_window(RUN_DATE, 7)
EVALUATED_AT = datetime(2026, 11, 29, 3)


def metrics(ndcg: float | None, queries: int = 40) -> dict:
    """An evaluation as ``evaluate_snapshot`` returns it; no queries, no metrics."""
    judged = queries > 0
    return {
        "ndcg@10": ndcg,
        "mrr@10": 0.5 if judged else None,
        "recall@10": 0.25 if judged else None,
        "map@10": 0.125 if judged else None,
        "queries": queries,
        "k": 10,
        "judgments": 3 * queries,
        "qrels_sha256": "ab" * 32,
    }


def row(snapshot: str, ndcg: float | None, queries: int = 40) -> tuple:
    judged = queries > 0
    return (snapshot, RUN_DATE, "m1", 10, ndcg, *((0.5, 0.25, 0.125) if judged else (None,) * 3),
            queries, 3 * queries, "ab" * 32, WINDOW.start, WINDOW.end, EVALUATED_AT)  # fmt: skip


@pytest.fixture(scope="module")
def cfg(spark, tmp_path_factory):
    cfg = load_config(
        profile="local",
        root=tmp_path_factory.mktemp(DATABASE),
        overrides={"database": DATABASE},
    )
    previous = spark.catalog.currentDatabase()
    spark.sql(f"drop database if exists {DATABASE} cascade")
    spark.sql(f"create database {DATABASE}")
    spark.catalog.setCurrentDatabase(DATABASE)
    for statement in sql_statements(DDL_DIR / "050_retrieval_eval.sql"):
        spark.sql(statement)
    yield cfg
    spark.catalog.setCurrentDatabase(previous)


def test_a_rerun_replaces_the_snapshot_s_row_for_its_date(spark, cfg) -> None:
    def record(evaluations: dict) -> None:
        record_evaluation(spark, cfg, RUN_DATE, evaluations, WINDOW, "m1", EVALUATED_AT)

    # the served snapshot, with nothing to judge, and the candidate, in one commit
    record({"s1": metrics(None, queries=0), "s2": metrics(0.40)})
    version = table_version(spark, "retrieval_eval")
    record({"s2": metrics(0.45)})  # the rerun

    assert table_version(spark, "retrieval_eval") == version + 1
    expected_df = spark.createDataFrame(
        [row("s1", None, queries=0), row("s2", 0.45)], RETRIEVAL_EVAL_SCHEMA
    )
    assert_df_equality(
        spark.table("retrieval_eval"),
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    # the report reads the table back and draws it, null metrics included
    evaluations = _retrieval_evaluations(spark)
    assert list(evaluations.snapshot) == ["s1", "s2"]
    assert base64.b64decode(_evaluation_plot(evaluations)).startswith(b"\x89PNG")


def test_judgments_are_collected_from_the_current_database(spark, cfg) -> None:
    day = date(2026, 11, 24)
    events_df = spark.createDataFrame(
        [
            ("u1", "c1", "play", datetime(2026, 11, 24, 10), day, None),
            ("u1", "c2", "complete", datetime(2026, 11, 24, 11), day, 300.0),
            ("u2", "c1", "click", datetime(2026, 11, 24, 9), day, None),
            ("u2", "c3", "pause", datetime(2026, 11, 24, 12), day, 150.0),
            ("u3", "c2", "click", datetime(2026, 11, 24, 8), day, None),
            ("u3", "c3", "complete", datetime(2026, 11, 24, 9), day, 300.0),
        ],
        "user_id string, content_id string, event_type string, event_ts timestamp, "
        "event_date date, watch_seconds double",
    )
    content_df = spark.createDataFrame(
        [("c1", 300), ("c2", 300), ("c3", 300)], "content_id string, duration_seconds int"
    )
    # Temporary views resolve before the database's tables; the session is shared, so they
    # go again at once.
    events_df.createOrReplaceTempView("events")
    content_df.createOrReplaceTempView("content")
    try:
        qrels = qrels_from_events(spark, WINDOW, max_queries=1)
    finally:
        spark.catalog.dropTempView("events")
        spark.catalog.dropTempView("content")

    # Two query items, one kept by the hash sample, with all its judgments.
    assert qrels in ({"c1": {"c2": 3, "c3": 2}}, {"c2": {"c3": 3}})
