"""Table maintenance: compact, checkpoint, vacuum, without losing a version anyone needs.

``jobs/maintain_tables.py`` runs it weekly (``airflow_dags/contentlake_maintenance.py``).
For each Delta table of the lakehouse:

1. the table properties the DDL declares for tables created before them (the Change Data
   Feed of ``content``, the checkpoint interval of ``job_run_attempts``) are set where
   missing: no commit when they are there;
2. ``OPTIMIZE`` compacts the small files every daily MERGE and partition overwrite leaves,
   with ``ZORDER BY`` where ``maintenance.zorder_by`` says it pays (measured in
   ``docs/lineage.md``, "Table maintenance");
3. a checkpoint, so a reader starts from one Parquet file instead of replaying the JSON log;
4. ``VACUUM`` with a retention long enough for every version a kept snapshot names (its
   commit's age plus ``maintenance.retention_margin_hours``), never under
   ``maintenance.min_retention_hours`` nor under the table's own
   ``delta.deletedFileRetentionDuration``. Both retention properties are raised to match
   first: the checkpoint's log clean-up then keeps those versions' commits, and Delta, which
   refuses time travel past ``deletedFileRetentionDuration`` even to files still there,
   lets them be read.
   ``content_embeddings`` keeps what :func:`contentlake.snapshots.keep_snapshot_versions_reachable`
   asks for rollbacks (the age of the oldest snapshot on disk plus a week, at least 30 days).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from contentlake.commit_tags import table_history
from contentlake.config import Config, validate_identifier
from contentlake.delta_commits import commit_with_retry
from contentlake.snapshots import keep_snapshot_versions_reachable, list_snapshots

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Properties the DDL declares that a table created before them lacks.
DECLARED_PROPERTIES: dict[str, dict[str, str]] = {
    "content": {"delta.enableChangeDataFeed": "true"},
    "job_run_attempts": {"delta.checkpointInterval": "100"},
}
HOURS_PER_UNIT = {
    "second": 1 / 3600,
    "seconds": 1 / 3600,
    "minute": 1 / 60,
    "minutes": 1 / 60,
    "hour": 1,
    "hours": 1,
    "day": 24,
    "days": 24,
    "week": 168,
    "weeks": 168,
}
# Properties that bound how far back a version stays readable: the log entries (a
# checkpoint deletes older ones) and the retired files (VACUUM deletes older ones; Delta
# also refuses time travel past this duration, files present or not).
RETENTION_PROPERTIES = ("delta.logRetentionDuration", "delta.deletedFileRetentionDuration")
DELTA_DEFAULT_RETENTION_HOURS = 168.0


@dataclass(frozen=True)
class TableMaintenance:
    """What maintenance did to one table."""

    table: str
    files_before: int
    files_after: int
    zorder_by: tuple[str, ...]
    retention_hours: float
    files_vacuumed: int
    properties_set: tuple[str, ...] = ()

    def summary(self) -> str:
        zorder = f" zorder({','.join(self.zorder_by)})" if self.zorder_by else ""
        props = f" set {','.join(self.properties_set)}" if self.properties_set else ""
        return (
            f"files {self.files_before}->{self.files_after}{zorder}, "
            f"vacuumed {self.files_vacuumed} (retain {self.retention_hours:.4g}h){props}"
        )


def delta_tables(spark: SparkSession, cfg: Config) -> list[str]:
    """The Delta tables of the lakehouse's database (views left out), by name."""
    database = validate_identifier(cfg.database)
    return sorted(
        table.name
        for table in spark.catalog.listTables(database)
        if table.tableType != "VIEW" and not table.isTemporary
    )


def apply_declared_properties(spark: SparkSession, table: str) -> tuple[str, ...]:
    """Set the declared properties ``table`` lacks; ALTER commits a version even when it
    changes nothing, so it runs only for what is missing."""
    wanted = DECLARED_PROPERTIES.get(table, {})
    present = table_properties(spark, table)
    missing = {key: value for key, value in wanted.items() if present.get(key) != value}
    if missing:
        settings = ", ".join(f"'{key}' = '{value}'" for key, value in missing.items())
        spark.sql(f"alter table {table} set tblproperties ({settings})")
    return tuple(sorted(missing))


def table_properties(spark: SparkSession, table: str) -> dict[str, str]:
    rows = spark.sql(f"show tblproperties {validate_identifier(table)}").collect()
    return {row.key: row.value for row in rows}


def interval_hours(interval: str | None, default: float = DELTA_DEFAULT_RETENTION_HOURS) -> float:
    """Hours of a Delta interval property (``interval 30 days``); ``default`` when unset."""
    if not interval:
        return default
    amount, unit = interval.split()[-2:]
    return float(amount) * HOURS_PER_UNIT.get(unit.lower(), 1)


def snapshot_needed_versions(cfg: Config) -> dict[str, int]:
    """Table -> the oldest version any snapshot on disk was built from (``source_tables``
    of the manifests): what a rollback restores and what lineage reads back."""
    needed: dict[str, int] = {}
    prefix = f"{cfg.database}."
    for entry in list_snapshots(cfg.paths.snapshots):
        for key, source in entry.manifest.get("source_tables", {}).items():
            table = key.removeprefix(prefix)
            needed[table] = min(needed.get(table, int(source["version"])), int(source["version"]))
    return needed


def retention_hours(
    spark: SparkSession, cfg: Config, table: str, needed_version: int | None, now: datetime
) -> float:
    """Hours VACUUM must keep for ``table``: the files of ``needed_version`` are deleted
    only by commits after it, so keeping everything younger than that commit (plus the
    margin) keeps the version readable."""
    settings = cfg.maintenance
    declared = interval_hours(
        table_properties(spark, table).get("delta.deletedFileRetentionDuration")
    )
    hours = max(settings.min_retention_hours, declared)
    if needed_version is not None:
        history = table_history(spark, table)
        kept = [c for c in history if c.version <= needed_version] or history[:1]
        committed = kept[-1].timestamp.replace(tzinfo=timezone.utc)
        age = (now - committed).total_seconds() / 3600
        hours = max(hours, age + settings.retention_margin_hours)
    # Rounded up to the second: RETAIN takes fractional hours.
    return math.ceil(hours * 3600) / 3600


def keep_versions_for(spark: SparkSession, table: str, hours: float) -> tuple[str, ...]:
    """Raise the table's log and retired-file retention to ``hours`` where shorter (never
    lower them: a version once kept stays kept until the property is changed by hand);
    the properties it set."""
    present = table_properties(spark, table)
    defaults = {"delta.logRetentionDuration": 30 * 24.0}
    wanted = {
        key: f"interval {math.ceil(hours * 3600)} seconds"
        for key in RETENTION_PROPERTIES
        if interval_hours(present.get(key), defaults.get(key, DELTA_DEFAULT_RETENTION_HOURS))
        < hours
    }
    if wanted:
        settings = ", ".join(f"'{key}' = '{value}'" for key, value in wanted.items())
        spark.sql(f"alter table {table} set tblproperties ({settings})")
    return tuple(sorted(wanted))


def file_count(spark: SparkSession, table: str) -> int:
    return int(spark.sql(f"describe detail {table}").first()["numFiles"])


def checkpoint(spark: SparkSession, table: str) -> None:
    """Write a checkpoint of the table's latest version (Delta's log API: no SQL for it)."""
    jvm = spark._jvm
    database, _, name = table.rpartition(".")
    identifier = jvm.org.apache.spark.sql.catalyst.TableIdentifier.apply(
        name, jvm.scala.Option.apply(database or spark.catalog.currentDatabase())
    )
    jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, identifier).checkpoint()


def vacuum(spark: SparkSession, table: str, hours: float) -> int:
    """VACUUM ``table`` keeping ``hours``; the number of files it deleted."""
    spark.sql(f"vacuum {table} retain {hours} hours")
    last = table_history(spark, table)[-1]
    if last.operation != "VACUUM END":
        return 0
    from delta.tables import DeltaTable

    metrics = DeltaTable.forName(spark, table).history(1).first()["operationMetrics"]
    return int(metrics.get("numDeletedFiles", 0))


def maintain_table(
    spark: SparkSession, cfg: Config, table: str, needed_version: int | None, now: datetime
) -> TableMaintenance:
    """Properties, OPTIMIZE (Z-ORDER where configured), checkpoint and VACUUM of one table."""
    table = validate_identifier(table)
    properties_set = apply_declared_properties(spark, table)
    files_before = file_count(spark, table)
    zorder = cfg.maintenance.zorder_by.get(table, ())
    statement = f"optimize {table}"
    if zorder:
        statement += f" zorder by ({', '.join(validate_identifier(c) for c in zorder)})"
    # OPTIMIZE rewrites files a daily job may be MERGEing into: a lost race is retried.
    commit_with_retry(lambda: spark.sql(statement).collect(), table, cfg.writes)
    hours = retention_hours(spark, cfg, table, needed_version, now)
    properties_set += keep_versions_for(spark, table, hours)
    checkpoint(spark, table)
    vacuumed = vacuum(spark, table, hours)
    return TableMaintenance(
        table=table,
        files_before=files_before,
        files_after=file_count(spark, table),
        zorder_by=tuple(zorder),
        retention_hours=hours,
        files_vacuumed=vacuumed,
        properties_set=properties_set,
    )


def maintain_tables(
    spark: SparkSession, cfg: Config, tables: Sequence[str] | None = None
) -> list[TableMaintenance]:
    """Maintain ``tables`` (default: every Delta table of the lakehouse's database)."""
    now = datetime.now(timezone.utc)
    # content_embeddings' retention for rollbacks, set as its table properties first.
    keep_snapshot_versions_reachable(spark, cfg)
    needed = snapshot_needed_versions(cfg)
    return [
        maintain_table(spark, cfg, table, needed.get(table), now)
        for table in (tables or delta_tables(spark, cfg))
    ]
