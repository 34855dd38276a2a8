"""Run an analyst query from ``sql/`` against the lakehouse tables, by name.

    python -m contentlake.query sql/analyst/top_content_by_views.sql
    python -m contentlake.query sql/analyst/quarantine_by_reason.sql --root ./lakehouse --rows 50

Queries use unqualified table names; they run with the project database as the current one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contentlake.config import PROFILES, load_config
from contentlake.tables import sql_statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sql_file", type=Path, help="a .sql file holding one SELECT")
    parser.add_argument("--root", default=None, help="lakehouse folder (default ./lakehouse)")
    parser.add_argument("--profile", choices=PROFILES, default=None)
    parser.add_argument("--rows", type=int, default=20, help="rows to print")
    args = parser.parse_args(argv)

    statements = sql_statements(args.sql_file)
    if len(statements) != 1:
        parser.error(f"{args.sql_file} must hold exactly one statement, found {len(statements)}")
    cfg = load_config(profile=args.profile, root=args.root)

    from contentlake.session import build_spark
    from contentlake.tables import use_database

    spark = build_spark(cfg)
    try:
        use_database(spark, cfg)
        spark.sql(statements[0]).show(args.rows, truncate=False)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
