"""Table registration from the DDL files in ``sql/ddl`` and small catalog look-ups."""

from __future__ import annotations

from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from contentlake.config import Config, validate_identifier

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
DDL_DIR = SQL_DIR / "ddl"


def sql_statements(path: Path) -> list[str]:
    """The statements of a SQL file: ``--`` comments removed, split on ``;``.

    Deliberately simple: DDL files keep ``;`` and ``--`` out of string literals.
    """
    text = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
    return [statement.strip() for statement in text.split(";") if statement.strip()]


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
            spark.sql(statement)


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
    """The latest committed Delta version of ``table``."""
    history = DeltaTable.forName(spark, validate_identifier(table)).history(1)
    return int(history.first()["version"])
