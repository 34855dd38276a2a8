"""Where a table version, a snapshot or one served vector came from, back to landing files.

    python -m contentlake.lineage content_embeddings            # the table's latest version
    python -m contentlake.lineage content --version 3
    python -m contentlake.lineage 2026-11-02_3f9c0a1b2c3d         # a snapshot (or CURRENT)
    python -m contentlake.lineage CURRENT --content-id c000042     # one vector, row by row

Two records are read. The Delta history of each table: every commit a job makes is tagged
with its job, run id and run date (``contentlake.commit_tags``), and ``embed_content`` adds
the ``content`` version it embedded. And the OpenLineage events the Spark listener writes
(``paths.lineage/events.jsonl``): the COMPLETE event of each write names the Delta version
it committed and, for the bronze writes, the landing files it read; its run id is what a
lineage server knows the write by. The listener does not see through a MERGE whose source
is a DataFrame or a cached one (``content``, ``content_embeddings``), so the step between
two tables comes from the tags and the commit times, never from the events alone.

A table version is followed back through its last data-changing commit (OPTIMIZE, VACUUM
and property changes are skipped) to the version of each upstream table that commit read.
One vector is followed row by row: the vector's input hash is checked against the
``content`` row it was embedded from, and that row back to the bronze lines that carried
it, with the same transforms ``ingest_catalog`` ran, to the landing file that won.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contentlake.commit_tags import Commit, CommitNotFound, data_commit, table_history
from contentlake.config import Config, add_lakehouse_options, load_config
from contentlake.spark_settings import LINEAGE_EVENTS_FILE, OPENLINEAGE_LOCATION

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Which tables each table's writer reads; a bronze table reads landing files.
UPSTREAM: dict[str, tuple[str, ...]] = {
    "content_embeddings": ("content",),
    "content": ("bronze_catalog",),
    "content_quarantine": ("bronze_catalog",),
    "events": ("bronze_events", "content"),
    "events_quarantine": ("bronze_events", "content"),
    "content_daily_features": ("events", "content"),
    "bronze_catalog": (),
    "bronze_events": (),
}
EMBEDDINGS = "content_embeddings"
CURRENT = "CURRENT"


class LineageError(RuntimeError):
    """A link of the chain cannot be found (a version vacuumed, an unknown snapshot)."""


@dataclass
class TableNode:
    """A table version, the commit that wrote its data, and what that commit read."""

    table: str
    version: int
    commit: Commit
    openlineage_run_id: str | None = None
    landing_files: list[str] = field(default_factory=list)
    inputs: list[TableNode] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """One link of a vector's chain: a table version and the run that wrote the row."""

    table: str
    version: int
    job: str | None
    run_id: str | None
    openlineage_run_id: str | None
    detail: str


@dataclass(frozen=True)
class ItemTrace:
    content_id: str
    snapshot: str | None
    steps: tuple[Step, ...]
    landing_file: str


# ---------------------------------------------------------------------------------------
# The two records: Delta history and OpenLineage events


def read_at(history: Sequence[Commit], when: datetime) -> Commit:
    """The data commit a job reading the table at ``when`` saw: the last one committed
    by then (a job reads its inputs before it commits its output)."""
    seen = [commit for commit in history if commit.timestamp <= when]
    if not seen:
        raise CommitNotFound(f"{history[0].table if history else '?'} had no version by {when}")
    return data_commit(history, seen[-1].version)


def events_path(spark: SparkSession | None, cfg: Config) -> Path | None:
    """The session's OpenLineage file (where the listener writes), else the config's."""
    if spark is not None:
        location = spark.sparkContext.getConf().get(OPENLINEAGE_LOCATION, None)
        if location:
            return Path(location)
    return cfg.paths.lineage / LINEAGE_EVENTS_FILE if cfg.paths.lineage else None


def read_events(path: Path | None) -> list[dict[str, Any]]:
    """The COMPLETE events of the file that wrote something; none when there is no file
    (the listener off, or a lineage server as the transport)."""
    if path is None or not path.is_file():
        return []
    events = []
    with path.open() as handle:
        for line in handle:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash mid-write
            if event.get("eventType") == "COMPLETE" and event.get("outputs"):
                events.append(event)
    return events


def write_event(events: Iterable[dict[str, Any]], location: str, version: int) -> dict | None:
    """The COMPLETE event of the write that committed ``version`` at ``location``."""
    for event in events:
        for output in event["outputs"]:
            facet = output.get("facets", {}).get("version", {})
            if output.get("name") == location and facet.get("datasetVersion") == str(version):
                return event
    return None


def event_landing_inputs(event: dict[str, Any] | None, landing_root: Path) -> list[str]:
    """The landing datasets an event's write read, as ``file:`` paths, sorted: a file when
    the write read one, else the folder OpenLineage names the dataset by (it collapses
    several files, and ``date=`` partition folders, into their common folder)."""
    if event is None:
        return []
    root = str(landing_root)
    return sorted(
        f"file:{item['name']}"
        for item in event.get("inputs", [])
        if item.get("namespace") == "file" and item["name"].startswith(root)
    )


def covers(dataset: str, path: str) -> bool:
    """``path`` is the dataset itself or lies under it."""
    return path == dataset or path.startswith(dataset.rstrip("/") + "/")


def table_location(spark: SparkSession, table: str) -> str:
    """The table's folder as OpenLineage names it (a local path, no ``file:``)."""
    location = spark.sql(f"describe detail {table}").first()["location"]
    return location.removeprefix("file:")


# ---------------------------------------------------------------------------------------
# A table version


class Lineage:
    """Reads each table's history and the events once, then follows chains."""

    def __init__(self, spark: SparkSession, cfg: Config):
        from contentlake.tables import use_database

        use_database(spark, cfg)
        self.spark = spark
        self.cfg = cfg
        self.events = read_events(events_path(spark, cfg))
        self._history: dict[str, list[Commit]] = {}
        self._location: dict[str, str] = {}

    def history(self, table: str) -> list[Commit]:
        if table not in self._history:
            self._history[table] = table_history(self.spark, table)
        return self._history[table]

    def location(self, table: str) -> str:
        if table not in self._location:
            self._location[table] = table_location(self.spark, table)
        return self._location[table]

    def event_of(self, commit: Commit) -> dict[str, Any] | None:
        return write_event(self.events, self.location(commit.table), commit.version)

    def openlineage_run_id(self, commit: Commit) -> str | None:
        event = self.event_of(commit)
        return event["run"]["runId"] if event else None

    def latest_version(self, table: str) -> int:
        return self.history(table)[-1].version

    def trace_table(self, table: str, version: int | None = None) -> TableNode:
        """``table`` at ``version`` (default latest) back to the landing files."""
        history = self.history(table)
        commit = data_commit(history, self.latest_version(table) if version is None else version)
        node = TableNode(
            table,
            commit.version if version is None else version,
            commit,
            self.openlineage_run_id(commit),
        )
        if table.startswith("bronze_"):
            node.landing_files = self.bronze_landing_files(commit)
            return node
        for upstream in UPSTREAM.get(table, ()):
            read = self.upstream_commit(commit, upstream)
            node.inputs.append(self.trace_table(upstream, read.version))
        return node

    def upstream_commit(self, commit: Commit, upstream: str) -> Commit:
        """The ``upstream`` version ``commit``'s run read: the version its tag records
        (``embed_content`` records ``content_version``), else the last one before it."""
        recorded = commit.tag.get(f"{upstream}_version")
        if recorded is not None:
            return data_commit(self.history(upstream), int(recorded))
        return read_at(self.history(upstream), commit.timestamp)

    def bronze_landing_files(self, commit: Commit) -> list[str]:
        """The files a bronze write landed: the distinct ``source_file`` of its run date's
        rows at that version; without a run tag, the write's OpenLineage inputs (which may
        name a folder rather than its files)."""
        if "run_date" not in commit.tag:
            return event_landing_inputs(self.event_of(commit), self.cfg.paths.landing)
        from pyspark.sql import functions as F

        rows_df = (
            self.spark.read.option("versionAsOf", commit.version)
            .table(commit.table)
            .filter(F.col("_ingest_date") == F.lit(commit.tag["run_date"]).cast("date"))
        )
        return sorted(r.source_file for r in rows_df.select("source_file").distinct().collect())

    # -----------------------------------------------------------------------------------
    # One vector

    def trace_item(self, snapshot: str | None, content_id: str) -> ItemTrace:
        """The vector of ``content_id`` in ``snapshot`` (None or CURRENT: the served one;
        without snapshots on disk, the table's latest version) back to its landing file."""
        from pyspark.sql import functions as F

        from contentlake.transforms.catalog import (
            parse_catalog_lines,
            with_catalog_reject_reason,
            with_typed_content_columns,
        )
        from contentlake.transforms.validation import REASON

        name, embeddings_version = self.snapshot_version(snapshot)
        # The table may hold several models' vectors of the item (a model migration): the
        # snapshot's own model made the one it serves.
        model_version = self.snapshot_model_version(snapshot)
        same_model = (
            F.lit(True) if model_version is None else F.col("model_version") == model_version
        )
        vector = (
            self.spark.read.option("versionAsOf", embeddings_version)
            .table(EMBEDDINGS)
            .filter(
                (F.col("content_id") == content_id)
                & (F.col("modality") == self.cfg.embedding.modality)
                & same_model
            )
            .select("input_hash", "model_version", F.col("embedded_date").cast("string"))
            .first()
        )
        if vector is None:
            raise LineageError(f"{content_id} has no vector in {EMBEDDINGS} v{embeddings_version}")
        embed = self.row_writer(EMBEDDINGS, embeddings_version, vector.embedded_date)
        content_commit = self.upstream_commit(embed, "content")
        content_row = self.content_row(content_commit.version, content_id)
        # The vector must have been made from this row's text: its hash, recomputed.
        if content_row["input_hash"] != vector.input_hash:
            raise LineageError(
                f"{content_id}: content v{content_commit.version} does not hash to the "
                f"vector's input ({vector.input_hash[:12]})"
            )
        ingest_date = content_row["_ingest_date"].isoformat()
        ingest = self.row_writer("content", content_commit.version, ingest_date)
        bronze = self.upstream_commit(ingest, "bronze_catalog")
        lines_df = (
            self.spark.read.option("versionAsOf", bronze.version)
            .table("bronze_catalog")
            .filter(F.col("_ingest_date") == F.lit(content_row["_ingest_date"]))
        )
        tolerance = _future_tolerance(self.cfg)
        carriers = (
            lines_df.transform(parse_catalog_lines)
            .transform(with_typed_content_columns)
            .transform(with_catalog_reject_reason, content_row["_ingest_date"], tolerance)
            .filter(
                F.col(REASON).isNull()
                & (F.col("content_id") == content_id)
                & (F.col("updated_at") == F.lit(content_row["updated_at"]))
            )
            .select("source_file")
            .collect()
        )
        if not carriers:
            raise LineageError(
                f"{content_id}: no valid line of bronze_catalog v{bronze.version} "
                f"({ingest_date}) carries updated_at {content_row['updated_at']}"
            )
        # Duplicate copies of one version are rejected as duplicates, so one line is left.
        landing_file = carriers[0].source_file
        landed = event_landing_inputs(self.event_of(bronze), self.cfg.paths.landing)
        named_by = next((dataset for dataset in landed if covers(dataset, landing_file)), None)
        steps = (
            self.step(
                EMBEDDINGS, embeddings_version, embed, f"input_hash {vector.input_hash[:12]}"
            ),
            self.step(
                "content",
                content_commit.version,
                ingest,
                f"updated_at {content_row['updated_at']}, ingested {ingest_date}",
            ),
            self.step(
                "bronze_catalog",
                bronze.version,
                bronze,
                "line landed from the file below"
                + (f" (OpenLineage input {named_by})" if named_by else ""),
            ),
        )
        return ItemTrace(content_id, name, steps, landing_file)

    def snapshot_model_version(self, snapshot: str | None) -> str | None:
        """The model version of the snapshot's vectors (None: no snapshot named)."""
        from contentlake.index_snapshot import current_snapshot_name, read_manifest

        root = self.cfg.paths.snapshots
        name = current_snapshot_name(root) if snapshot in (None, CURRENT) else snapshot
        if name is None or not (root / name).is_dir():
            return None
        return (read_manifest(root / name).get("model") or {}).get("version")

    def snapshot_version(self, snapshot: str | None) -> tuple[str | None, int]:
        """The snapshot's name and the ``content_embeddings`` version it was built from."""
        from contentlake.index_snapshot import current_snapshot_name, read_manifest

        root = self.cfg.paths.snapshots
        name = current_snapshot_name(root) if snapshot in (None, CURRENT) else snapshot
        if name is None:
            if snapshot == CURRENT:
                raise LineageError(f"no snapshot is served under {root}")
            return None, self.latest_version(EMBEDDINGS)
        folder = root / name
        if not folder.is_dir():
            raise LineageError(f"no snapshot named {name!r} under {root}")
        return name, manifest_version(read_manifest(folder), self.cfg.database, EMBEDDINGS)

    def row_writer(self, table: str, version: int, run_date: str) -> Commit:
        """The commit that last wrote a row stamped ``run_date`` (``embedded_date``,
        ``_ingest_date``) into ``table`` up to ``version``: the latest data commit of a run
        for that date; the version's own data commit when no tag says so."""
        history = self.history(table)
        for commit in reversed(history):
            tagged_for_date = commit.tag.get("run_date") == run_date
            if commit.version <= version and commit.changes_data and tagged_for_date:
                return commit
        return data_commit(history, version)

    def content_row(self, version: int, content_id: str) -> dict[str, Any]:
        """The item's row of ``content`` at ``version`` with the hash of its embedding text."""
        from pyspark.sql import functions as F

        from contentlake.transforms.embedding_inputs import with_embedding_text, with_input_hash

        row = (
            self.spark.read.option("versionAsOf", version)
            .table("content")
            .filter(F.col("content_id") == content_id)
            .transform(with_embedding_text)
            .transform(with_input_hash)
            .first()
        )
        if row is None:
            raise LineageError(f"{content_id} is not in content v{version}")
        return row.asDict()

    def step(self, table: str, version: int, writer: Commit, detail: str) -> Step:
        return Step(
            table,
            version,
            writer.tag.get("job"),
            writer.tag.get("run_id"),
            self.openlineage_run_id(writer),
            f"written at v{writer.version} by {writer.run}; {detail}",
        )


def manifest_version(manifest: dict[str, Any], database: str, table: str) -> int:
    """The version of ``table`` a snapshot manifest records."""
    sources = manifest.get("source_tables", {})
    entry = sources.get(f"{database}.{table}") or sources.get(table)
    if entry is None:
        raise LineageError(f"the manifest records no version of {table}")
    return int(entry["version"])


def snapshot_inputs(
    spark: SparkSession, cfg: Config, versions: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """For a snapshot's manifest: each input table's version and the run that wrote its
    data (job, run id, run date, its OpenLineage run id, the commit's version and time).

    ``versions`` maps table names to the versions the snapshot read (``publish_index``'s
    ``versions``). The keys are ``<database>.<table>``, like ``source_tables``.
    """
    lineage = Lineage(spark, cfg)
    inputs = {}
    for table, version in versions.items():
        commit = data_commit(lineage.history(table), version)
        inputs[f"{cfg.database}.{table}"] = {
            "version": version,
            "data_version": commit.version,
            "committed_at": commit.timestamp.isoformat(),
            "operation": commit.operation,
            "job": commit.tag.get("job"),
            "run_id": commit.tag.get("run_id"),
            "run_date": commit.tag.get("run_date"),
            "openlineage_run_id": lineage.openlineage_run_id(commit),
        }
    return inputs


def _future_tolerance(cfg: Config) -> timedelta:
    return timedelta(minutes=cfg.ingest.future_tolerance_minutes)


# ---------------------------------------------------------------------------------------
# Printing


def format_table_chain(node: TableNode, depth: int = 0) -> list[str]:
    pad = "  " * depth
    arrow = "" if depth == 0 else "<- "
    commit = node.commit
    line = (
        f"{pad}{arrow}{node.table} v{node.version}: {commit.operation} at v{commit.version} "
        f"{commit.timestamp:%Y-%m-%d %H:%M:%S} by {commit.run}"
    )
    if node.openlineage_run_id:
        line += f" (OpenLineage run {node.openlineage_run_id})"
    lines = [line]
    lines += [f"{pad}  <- landing {path}" for path in node.landing_files]
    for upstream in node.inputs:
        lines += format_table_chain(upstream, depth + 1)
    return lines


def format_item_trace(trace: ItemTrace) -> list[str]:
    where = f"snapshot {trace.snapshot}" if trace.snapshot else EMBEDDINGS
    lines = [f"{trace.content_id} in {where}"]
    for depth, step in enumerate(trace.steps, start=1):
        openlineage = (
            f" (OpenLineage run {step.openlineage_run_id})" if step.openlineage_run_id else ""
        )
        lines.append(f"{'  ' * depth}<- {step.table} v{step.version}: {step.detail}{openlineage}")
    lines.append(f"{'  ' * (len(trace.steps) + 1)}<- landing {trace.landing_file}")
    return lines


def describe(
    lineage: Lineage,
    target: str,
    version: int | None = None,
    content_id: str | None = None,
    as_json: bool = False,
) -> str:
    """What the command prints for ``target`` (a table, a snapshot name or CURRENT)."""
    is_table = target in UPSTREAM
    if content_id:
        trace = lineage.trace_item(None if is_table else target, content_id)
        output: object = asdict(trace) if as_json else format_item_trace(trace)
    elif is_table:
        node = lineage.trace_table(target, version)
        output = asdict(node) if as_json else format_table_chain(node)
    else:
        name, embeddings_version = lineage.snapshot_version(target)
        node = lineage.trace_table(EMBEDDINGS, embeddings_version)
        output = asdict(node) if as_json else [f"snapshot {name}", *format_table_chain(node, 1)]
    if as_json:
        return json.dumps(output, default=str, indent=2)
    return "\n".join(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="a table name, a snapshot name, or CURRENT")
    parser.add_argument("--version", type=int, default=None, help="table version (latest)")
    parser.add_argument("--content-id", default=None, help="follow this item's vector")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_lakehouse_options(parser)
    args = parser.parse_args(argv)
    cfg = load_config(profile=args.profile, root=args.root)

    from contentlake.observability import configure_logging
    from contentlake.session import build_spark

    configure_logging()
    spark = build_spark(cfg)
    try:
        text = describe(Lineage(spark, cfg), args.target, args.version, args.content_id, args.json)
    except (LineageError, CommitNotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
