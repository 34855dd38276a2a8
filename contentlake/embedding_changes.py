"""Which content rows changed since the vectors were made: the Change Data Feed path.

``embed_content`` must find the items whose text (or model) changed since their stored
vector. The input-hash path hashes every item's text and anti-joins the whole catalogue with
``content_embeddings``: its cost follows the catalogue. The Change Data Feed path reads only
the ``content`` rows committed after the version the vectors were last made from (which the
embed commit records in its tag, ``contentlake.commit_tags``) and runs the same anti-join on
those items alone: its cost follows the day's changes (``bench/incremental_inputs.py``).

The feed is only trusted where it tells the whole story; otherwise the input-hash path runs,
and says why (``embed_content``'s ``change_source`` detail):

- the last data commit of ``content_embeddings`` was an ``embed_content`` MERGE that names
  the ``content`` version and model version it embedded (not a RESTORE of a rollback or a
  failed gate, not a first run);
- the model version is the same (a new model re-embeds everything);
- every ``content`` commit since is one the feed records row by row (MERGE, WRITE, UPDATE,
  DELETE, or one that changes no row), not a RESTORE;
- the feed can be read over that range: it was on (``delta.enableChangeDataFeed``) and its
  files were not vacuumed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from py4j.protocol import Py4JError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import DataFrame, SparkSession

from contentlake.commit_tags import data_commit, table_history
from contentlake.transforms.embedding_inputs import latest_changed_rows

CDF = "cdf"
INPUT_HASH = "input_hash"
CONTENT_VERSION_TAG = "content_version"
MODEL_VERSION_TAG = "model_version"
EMBED_JOB = "embed_content"
# Operations whose rows the feed records (besides those that change no row).
FEED_OPERATIONS = frozenset({"MERGE", "WRITE", "UPDATE", "DELETE", "STREAMING UPDATE"})
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeSource:
    """How this run finds its pending items: ``kind`` ``cdf`` (with the ``content``
    versions whose changes are read, ``start..end``) or ``input_hash``, and why."""

    kind: str
    reason: str
    start_version: int | None = None
    end_version: int | None = None


def choose_change_source(
    spark: SparkSession, setting: str, model_version: str, content_version: int
) -> ChangeSource:
    """The feed when ``setting`` allows it and it tells the whole story since the last
    embedding (see the module's conditions); the input-hash join otherwise."""
    if setting == INPUT_HASH:
        return ChangeSource(INPUT_HASH, "configured")
    embeddings = table_history(spark, "content_embeddings")
    last = data_commit(embeddings, embeddings[-1].version)
    # A RESTORE by a failed gate's undo carries the embed run's tag too: only its MERGE counts.
    tagged = last.tag.get("job") == EMBED_JOB and CONTENT_VERSION_TAG in last.tag
    if last.operation != "MERGE" or not tagged:
        return ChangeSource(INPUT_HASH, f"last vectors written by {last.operation}, untagged")
    if last.tag.get(MODEL_VERSION_TAG) != model_version:
        return ChangeSource(INPUT_HASH, "model version changed")
    start = int(last.tag[CONTENT_VERSION_TAG]) + 1
    since = [c for c in table_history(spark, "content") if start <= c.version <= content_version]
    unrecorded = sorted({c.operation for c in since if c.changes_data} - FEED_OPERATIONS)
    if unrecorded:
        return ChangeSource(INPUT_HASH, f"content had {', '.join(unrecorded)} since")
    return ChangeSource(CDF, f"content v{start}..v{content_version}", start, content_version)


def changed_content(spark: SparkSession, source: ChangeSource) -> DataFrame | None:
    """The ``content`` rows changed in the source's version range, each as its last change
    left it (the rows of ``content`` at ``end_version`` for those items), materialised;
    None when the feed cannot be read there (off, or vacuumed)."""
    columns = spark.table("content").columns
    if source.start_version > source.end_version:
        return spark.table("content").limit(0)
    changes_df = (
        spark.read.option("readChangeFeed", "true")
        .option("startingVersion", source.start_version)
        .option("endingVersion", source.end_version)
        .table("content")
        .transform(latest_changed_rows, columns)
    )
    try:
        # Materialised here so that a feed that cannot be read fails now, not inside the
        # embedding MERGE.
        return changes_df.localCheckpoint(eager=True)
    except (AnalysisException, PySparkException, Py4JError) as error:
        logger.warning("change data feed of content unreadable, hashing every item: %s", error)
        return None
