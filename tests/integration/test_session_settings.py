"""Jobs share one session when backfills run in threads: no job may change the session's
SQL conf, and each still gets the behaviour it once toggled a session setting for.

The ingest's bronze landing needs the CSV field-count check (a row with too few or too
many fields lands in ``_corrupt_record``) while an extra column is ignored; the embedding
needs the model to see ``embedding.texts_per_call`` texts per call. Both run at once
while a watcher reads the two session settings they used to set.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import pandas as pd
import pytest
from contentlake.jobs import embed_content, ingest_events
from contentlake.udfs.text_embedding import encode_batch, load_text_model
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contentlake.contract import RAW_EVENT_COLUMNS
from contentlake.sql_files import DDL_DIR, sql_statements
from contentlake.tables import use_database

RUN_DATE = date(2026, 11, 1)
CSV_PRUNING = "spark.sql.csv.parser.columnPruning.enabled"
ARROW_ROWS = "spark.sql.execution.arrow.maxRecordsPerBatch"
# What an operator may have set for the whole session: smaller than the texts per model
# call the embedding asks for, so the UDF must gather Arrow batches, not split them.
SESSION_ARROW_ROWS = "2"
TEXTS_PER_CALL = 3
TS = "2026-11-01T10:00:00Z"
EVENT_ROWS = {
    "ev1": ["ev1", "u1", "c1", "play", TS, "30", "tv", "home"],
    "ev2": ["ev2", "u2", "c1", "click", TS, "", "web", "search"],
    # The ignored extra column is the one missing: only a full parse sees the short row.
    "ev3": ["ev3", "u3", "c1", "play", TS, "5", "tv"],
    "ev4": ["ev4", "u4", "c1", "play", TS, "5", "tv", "home", "surplus"],
}
TEXTS = [f"the {word} story {i}" for i, word in enumerate(["heist", "puppy", "space"] * 5)]


@pytest.fixture
def session_arrow_rows(spark):
    spark.conf.set(ARROW_ROWS, SESSION_ARROW_ROWS)
    yield SESSION_ARROW_ROWS
    spark.conf.unset(ARROW_ROWS)


def recording_udf_factory(calls_log):
    """``text_embedding_udf`` whose UDF also appends the size of each model call's output
    (one Series per call) to ``calls_log``, from inside the Python workers."""
    real_factory = embed_content.text_embedding_udf

    def factory(*args, **kwargs):
        real = real_factory(*args, **kwargs).func

        @F.pandas_udf(T.ArrayType(T.FloatType()))
        def embed(text_batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
            for vectors in real(text_batches):
                with open(calls_log, "a") as log:
                    log.write(f"{len(vectors)}\n")
                yield vectors

        return embed

    return factory


def write_landing_csv(cfg) -> None:
    folder = cfg.paths.landing / "events" / f"date={RUN_DATE}"
    folder.mkdir(parents=True)
    lines = [
        ",".join((*RAW_EVENT_COLUMNS, "referrer")),
        *(",".join(r) for r in EVENT_ROWS.values()),
    ]
    (folder / "part-00000.csv").write_text("\n".join(lines) + "\n")


def test_concurrent_ingest_and_embedding_leave_the_session_conf_alone(
    spark, lake_db, tmp_path, tiny_model_path, session_arrow_rows, monkeypatch
):
    cfg = dataclasses.replace(
        lake_db,
        embedding=dataclasses.replace(
            lake_db.embedding,
            model=tiny_model_path,
            model_version="tiny",
            device="cpu",
            batch_size=2,
            partitions=2,
            texts_per_call=TEXTS_PER_CALL,
        ),
    )
    assert cfg.ingest.extra_columns == "ignore"
    use_database(spark, cfg)
    for statement in sql_statements(DDL_DIR / "011_bronze_events.sql"):
        spark.sql(statement)
    write_landing_csv(cfg)
    calls_log = tmp_path / "model_calls.txt"
    monkeypatch.setattr(embed_content, "text_embedding_udf", recording_udf_factory(calls_log))
    pending_df = spark.createDataFrame(
        [(f"c{i}", text, f"h{i}") for i, text in enumerate(TEXTS)],
        "content_id string, embedding_text string, input_hash string",
    )

    def ingest():
        ingest_events.land_bronze(spark, cfg, RUN_DATE)
        return {
            row.event_id: row._corrupt_record
            for row in spark.table("bronze_events").select("event_id", "_corrupt_record").collect()
        }

    def embedding():
        vectors_df = embed_content.embed(spark, cfg, pending_df, "tiny", RUN_DATE)
        return {row.content_id: row.embedding for row in vectors_df.collect()}

    before = {key: spark.conf.get(key) for key in (CSV_PRUNING, ARROW_ROWS)}
    seen, done = [], threading.Event()

    def watch():
        while not done.is_set():
            seen.append({key: spark.conf.get(key) for key in before})
            done.wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            bronze_future, vectors_future = pool.submit(ingest), pool.submit(embedding)
            bronze, vectors = bronze_future.result(), vectors_future.result()
    finally:
        done.set()
        watcher.join()

    assert before == {CSV_PRUNING: "true", ARROW_ROWS: SESSION_ARROW_ROWS}
    # Every value the watcher saw while both ran: the session's own, and only those.
    assert {tuple(s.items()) for s in seen} == {tuple(before.items())}
    assert {key: spark.conf.get(key) for key in before} == before

    # The field-count check, with the extra column pruned from what is read.
    assert {event_id for event_id, corrupt in bronze.items() if corrupt} == {"ev3", "ev4"}
    assert bronze["ev3"] == ",".join(EVENT_ROWS["ev3"])
    assert bronze["ev4"] == ",".join(EVENT_ROWS["ev4"])

    # The configured texts per model call, not the session's Arrow batch size.
    calls = [int(line) for line in calls_log.read_text().split()]
    assert sum(calls) == len(TEXTS)
    assert max(calls) == TEXTS_PER_CALL
    # Gathered and split across Arrow batches, each vector still belongs to its own text.
    expected = encode_batch(load_text_model(tiny_model_path, "cpu"), TEXTS)
    got = np.array([vectors[f"c{i}"] for i in range(len(TEXTS))])
    np.testing.assert_allclose(got, expected, atol=1e-5)
