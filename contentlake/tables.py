"""The lakehouse's tables: created once by an explicit step, verified cheaply by each job.

``python -m contentlake.tables`` (the DAG's first task, ``make demo``, ``contentlake.submit
daily``) applies every file of ``sql/ddl`` in order; each statement is safe to run again.
A job only checks that its database holds every declared table (one ``show tables``), so a
day's run pays no DDL.
"""

from __future__ import annotations

import argparse
import re
import sys

from delta.tables import DeltaTable
from py4j.protocol import Py4JError
from pyspark.sql import SparkSession

from contentlake.config import Config, add_lakehouse_options, load_config, validate_identifier
from contentlake.errors import JobFailed
from contentlake.sql_files import DDL_DIR, SQL_DIR, sql_statements

__all__ = [
    "DDL_DIR",
    "SQL_DIR",
    "declared_tables",
    "ensure_tables",
    "require_lakehouse",
    "require_table",
    "rows_written_by_last_commit",
    "sql_statements",
    "table_version",
    "use_database",
]

_CREATE = re.compile(r"^\s*create\s+(?:table|view)\s+if\s+not\s+exists\s+(\w+)", re.IGNORECASE)
CREATE_COMMAND = "python -m contentlake.tables"


def declared_tables() -> list[str]:
    """Every table and view the DDL files create, in file order."""
    names = []
    for path in sorted(DDL_DIR.glob("*.sql")):
        for statement in sql_statements(path):
            match = _CREATE.match(statement)
            if match:
                names.append(match.group(1).lower())
    return names


def use_database(spark: SparkSession, cfg: Config) -> None:
    """Create the project database if needed and make it current, so SQL files stay
    unqualified and the same files serve every environment."""
    database = validate_identifier(cfg.database)
    spark.sql(f"create database if not exists {database}")
    spark.catalog.setCurrentDatabase(database)


def ensure_tables(spark: SparkSession, cfg: Config) -> None:
    """Apply every DDL file in order; each statement is safe to run again.

    CHECK constraints are declared in each table's CREATE statement, so a new table is
    born with them in its first commit (an ALTER TABLE ADD CONSTRAINT per constraint
    would cost a commit and a validating scan each). A constraint added to a table that
    already exists needs its own ALTER TABLE ... ADD CONSTRAINT, run once.
    """
    use_database(spark, cfg)
    for path in sorted(DDL_DIR.glob("*.sql")):
        for statement in sql_statements(path):
            _refuse_table_where_a_view_is_declared(spark, statement)
            spark.sql(statement)
    _add_missing_columns(spark)


# Columns declared after lakehouses were first created: CREATE TABLE IF NOT EXISTS leaves an
# existing table as it was, so each is added here once (a metadata-only commit, then never
# again). Table -> (column, type), in the DDL's order.
ADDED_COLUMNS = {"content": (("poster_uri", "string"), ("video_uri", "string"))}


def _add_missing_columns(spark: SparkSession) -> None:
    for table, columns in ADDED_COLUMNS.items():
        present = set(spark.table(table).columns)
        missing = [f"{name} {kind}" for name, kind in columns if name not in present]
        if missing:
            spark.sql(f"alter table {table} add columns ({', '.join(missing)})")


def _refuse_table_where_a_view_is_declared(spark: SparkSession, statement: str) -> None:
    """``create view if not exists`` is silently a no-op over a table of that name (an older
    lakehouse's ``job_runs``), which would then never change again: stop and say so."""
    match = _CREATE.match(statement)
    if not match or not re.match(r"^\s*create\s+view", statement, re.IGNORECASE):
        return
    name = match.group(1)
    if spark.catalog.tableExists(name) and spark.catalog.getTable(name).tableType != "VIEW":
        raise JobFailed(
            f"{name} is a table in this lakehouse, where the DDL declares a view: "
            "see 'Create the tables' in docs/operations.md to upgrade it"
        )


def require_lakehouse(spark: SparkSession, cfg: Config) -> None:
    """Make the project database current, or fail with the command that creates it.

    One ``show tables``: every table the DDL declares must be there. Jobs never run DDL
    themselves, so two backfill dates started at once never race to create a table.
    """
    database = validate_identifier(cfg.database)
    if not spark.catalog.databaseExists(database):
        raise JobFailed(f"database {database!r} does not exist: run `{CREATE_COMMAND}` first")
    spark.catalog.setCurrentDatabase(database)
    present = {row.tableName.lower() for row in spark.sql(f"show tables in {database}").collect()}
    missing = [name for name in declared_tables() if name not in present]
    if missing:
        raise JobFailed(
            f"database {database!r} lacks {', '.join(missing)}: run `{CREATE_COMMAND}` first"
        )


def require_table(spark: SparkSession, table: str) -> str:
    """``table`` if it is a plain identifier naming a table of the current database.

    Names from configuration or the command line pass here before they reach SQL text.
    """
    validate_identifier(table)
    if not spark.catalog.tableExists(table):
        database = spark.catalog.currentDatabase()
        raise ValueError(f"table {table!r} does not exist in database {database!r}")
    return table


def table_version(spark: SparkSession, table: str) -> int:
    """The latest committed Delta version of ``table``.

    Read from the table's Delta log the way Delta's own readers refresh it (list the log
    after the last checkpoint): tens of milliseconds, where ``DESCRIBE HISTORY`` runs a Spark
    job and costs most of a second, twice per gated write. Delta's log API is not a public
    Python one, so any py4j error falls back to the history.
    """
    table = validate_identifier(table)
    jvm = spark._jvm
    try:
        database, _, name = table.rpartition(".")
        identifier = jvm.org.apache.spark.sql.catalyst.TableIdentifier.apply(
            name, jvm.scala.Option.apply(database or None)
        )
        delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(
            spark._jsparkSession, identifier
        )
        none = jvm.scala.Option.empty()
        return int(delta_log.update(False, none, none).version())
    except Py4JError:
        return int(DeltaTable.forName(spark, table).history(1).first()["version"])


def rows_written_by_last_commit(spark: SparkSession, table: str) -> int:
    """``numOutputRows`` of the table's latest commit, read from its Delta log: the size of
    what was just written, without counting the table again."""
    history = DeltaTable.forName(spark, validate_identifier(table)).history(1)
    return int(history.first()["operationMetrics"].get("numOutputRows", 0))


def main(argv: list[str] | None = None) -> int:
    """Create (or complete) the lakehouse's database and tables.

    python -m contentlake.tables [--profile local] [--root ./lakehouse]
    """
    parser = argparse.ArgumentParser(description="Create the lakehouse's tables (idempotent)")
    add_lakehouse_options(parser)
    args = parser.parse_args(argv)
    cfg = load_config(profile=args.profile, root=args.root)

    from contentlake.observability import configure_logging
    from contentlake.session import build_spark

    configure_logging()
    spark = build_spark(cfg)
    try:
        ensure_tables(spark, cfg)
        print(f"{cfg.database}: {', '.join(declared_tables())}")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
