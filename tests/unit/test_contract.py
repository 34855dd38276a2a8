"""SQL checks, DDL, transforms and sample generator agree with ``contentlake.contract``.

SQL cannot import the contract, so the accepted-value lists and the table columns are
parsed out of ``sql/`` as text. No Spark session: pyspark is imported only to read the
transforms' constants and schemas.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contentlake import sample_data
from contentlake.contract import (
    CONTENT_COLUMNS,
    CONTENT_TYPES,
    DEVICES,
    EVENT_COLUMNS,
    EVENT_TYPES,
    RAW_EVENT_COLUMNS,
)

REPO = Path(__file__).resolve().parents[2]
SQL_ROOT = REPO / "sql"
VOCABULARY_FILE = REPO / "contentlake" / "sample_vocabulary.json"

ACCEPTED = {"event_type": EVENT_TYPES, "content_type": CONTENT_TYPES, "device": DEVICES}

# Where a whole accepted-value list is written out: the gate's check and the table's CHECK
# constraint. Named one by one so that deleting a list fails here instead of passing quietly.
DQ_LISTS = [
    ("dq/events/event_type_known.sql", "event_type"),
    ("dq/content/content_type_known.sql", "content_type"),
    ("dq/events/device_known.sql", "device"),
]
DDL_CONSTRAINTS = [
    ("ddl/021_events.sql", "event_type_known", "event_type"),
    ("ddl/020_content.sql", "content_type_known", "content_type"),
]
# Beyond the contract's columns each table carries bookkeeping columns of its own.
DDL_TABLES = [
    ("ddl/011_bronze_events.sql", (*RAW_EVENT_COLUMNS, "_corrupt_record", "source_file")),
    ("ddl/020_content.sql", CONTENT_COLUMNS),
    ("ddl/021_events.sql", EVENT_COLUMNS),
]

_LITERAL = r"'[^']*'"
# ``[alias.]column [not] in ('a', 'b')``: only lists made of string literals.
_IN_LIST = re.compile(
    rf"\b(?:\w+\.)?(\w+)\s+(?:not\s+)?in\s*\(\s*({_LITERAL}(?:\s*,\s*{_LITERAL})*)\s*\)",
    re.IGNORECASE,
)
_COMPARISON = re.compile(rf"\b(?:\w+\.)?(\w+)\s*(?:=|<>|!=)\s*({_LITERAL})")
_CONSTRAINT = re.compile(r"'delta\.constraints\.(\w+)'\s*=\s*\"([^\"]*)\"")
_CREATE = re.compile(
    r"create table if not exists (\w+) \((.*?)\n\)\s*using delta", re.IGNORECASE | re.DOTALL
)


def _sql(relative: str) -> str:
    """A SQL file without its ``--`` comments, which may mention values in prose."""
    return re.sub(r"--[^\n]*", "", (SQL_ROOT / relative).read_text(encoding="utf-8"))


def _literal_lists(text: str) -> list[tuple[str, list[str]]]:
    """(column, values) of every ``in (...)`` list of string literals in ``text``."""
    return [
        (column.lower(), re.findall(r"'([^']*)'", body)) for column, body in _IN_LIST.findall(text)
    ]


def _only_list(text: str, column: str) -> list[str]:
    lists = [values for name, values in _literal_lists(text) if name == column]
    assert len(lists) == 1, f"expected one literal list on {column}, found {lists}"
    return lists[0]


def _assert_same_values(found: list[str], expected: tuple[str, ...], where: str) -> None:
    assert len(found) == len(set(found)), f"{where} repeats a value: {found}"
    missing, extra = set(expected) - set(found), set(found) - set(expected)
    assert not missing and not extra, f"{where}: missing {sorted(missing)}, extra {sorted(extra)}"


def _ddl_columns(relative: str) -> tuple[str, ...]:
    """Column names of the file's single ``create table``, in order."""
    tables = _CREATE.findall(_sql(relative))
    assert len(tables) == 1, f"{relative}: expected one create table, found {len(tables)}"
    _, body = tables[0]
    return tuple(line.split()[0] for line in body.splitlines() if line.strip())


@pytest.mark.parametrize(("relative", "column"), DQ_LISTS)
def test_dq_check_accepts_the_contract_values(relative: str, column: str) -> None:
    _assert_same_values(_only_list(_sql(relative), column), ACCEPTED[column], relative)


@pytest.mark.parametrize(("relative", "name", "column"), DDL_CONSTRAINTS)
def test_ddl_check_constraint_accepts_the_contract_values(
    relative: str, name: str, column: str
) -> None:
    constraints = dict(_CONSTRAINT.findall(_sql(relative)))
    assert name in constraints, f"{relative} lost delta.constraints.{name}"
    found = _only_list(constraints[name], column)
    _assert_same_values(found, ACCEPTED[column], f"{relative} {name}")


def test_no_sql_file_names_a_value_outside_the_contract() -> None:
    """Subsets (an analyst query on plays) are fine; an unknown or misspelt value is not."""
    problems = []
    for path in sorted(SQL_ROOT.rglob("*.sql")):
        text = _sql(str(path.relative_to(SQL_ROOT)))
        found = _literal_lists(text) + [
            (column.lower(), [literal.strip("'")]) for column, literal in _COMPARISON.findall(text)
        ]
        for column, values in found:
            unknown = set(values) - set(ACCEPTED.get(column, values))
            if unknown:
                problems.append(f"{path.relative_to(REPO)}: {column} {sorted(unknown)}")
    assert not problems


@pytest.mark.parametrize(("relative", "columns"), DDL_TABLES, ids=[r for r, _ in DDL_TABLES])
def test_ddl_table_columns_follow_the_contract(relative: str, columns: tuple[str, ...]) -> None:
    assert _ddl_columns(relative) == (*columns, "_ingest_date")


def test_python_modules_reuse_the_contract_objects() -> None:
    """A copy that merely equals the contract today would drift tomorrow: require identity."""
    from contentlake.transforms import catalog, events

    assert events.EVENT_TYPES is EVENT_TYPES
    assert events.RAW_EVENT_COLUMNS is RAW_EVENT_COLUMNS
    assert events.EVENT_COLUMNS is EVENT_COLUMNS
    assert catalog.CONTENT_TYPES is CONTENT_TYPES
    assert catalog.CONTENT_COLUMNS is CONTENT_COLUMNS
    assert sample_data.EVENT_TYPES is EVENT_TYPES
    assert sample_data.CONTENT_TYPES is CONTENT_TYPES
    assert sample_data.DEVICES is DEVICES
    assert sample_data.EVENT_COLUMNS is RAW_EVENT_COLUMNS
    assert sample_data.CATALOG_COLUMNS is CONTENT_COLUMNS


def test_read_schemas_follow_the_contract_columns() -> None:
    from contentlake.transforms.catalog import CATALOG_JSON_SCHEMA
    from contentlake.transforms.events import EVENTS_CSV_SCHEMA

    assert tuple(CATALOG_JSON_SCHEMA.fieldNames()) == CONTENT_COLUMNS
    assert tuple(EVENTS_CSV_SCHEMA.fieldNames()) == (*RAW_EVENT_COLUMNS, "_corrupt_record")


def test_sample_generator_stays_inside_the_contract() -> None:
    vocabulary = json.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))
    assert set(sample_data.WATCH_EVENT_TYPES) <= set(EVENT_TYPES)
    assert set(sample_data.PLAYABLE_TYPES) <= set(CONTENT_TYPES)
    assert set(vocabulary["kind_words"]) == set(CONTENT_TYPES)
    # Bad rows must be bad: their values may never be accepted ones.
    assert not set(vocabulary["bad_values"]["event_type"]) & set(EVENT_TYPES)
    assert not set(vocabulary["bad_values"]["content_type"]) & set(CONTENT_TYPES)


def test_contract_and_generator_import_without_pyspark() -> None:
    probe = (
        "import sys\n"
        "import contentlake.contract, contentlake.sample_data\n"
        "assert 'pyspark' not in sys.modules, 'pyspark was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
