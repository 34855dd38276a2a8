"""Where the project's SQL files live, and how a file splits into statements. No Spark."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# sql/ installs as the package contentlake.sql (pyproject.toml), so a wheel finds it too.
SQL_DIR = Path(resources.files("contentlake.sql"))
DDL_DIR = SQL_DIR / "ddl"


def sql_statements(path: Path) -> list[str]:
    """The statements of a SQL file: ``--`` comments removed, split on ``;``.

    Deliberately simple: DDL files keep ``;`` and ``--`` out of string literals.
    """
    text = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
    return [statement.strip() for statement in text.split(";") if statement.strip()]
