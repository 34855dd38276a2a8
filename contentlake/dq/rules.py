"""The data-quality rules: ``sql/dq/<table>/<check>.sql``, one assertion per file. No Spark.

A check is a SELECT that returns the violating rows (zero rows: pass). A comment header
declares its severity, its kind and what it asserts::

    -- severity: quarantine
    -- kind: row
    -- description: a single event never claims more than a day of watching
    select event_id from events
    where _ingest_date = {run_date} and watch_seconds > 86400

Kinds:

* ``row`` checks judge each row on its own and are written exactly as
  ``select <key columns> from <table> where <predicate>``. All row checks of a table run
  together in one scan (one ``count_if`` per predicate), not one query per check.
* ``aggregate`` checks judge one row of aggregates over the table (or over its run slice)
  and are written exactly as ``select <aggregates> from <table> [where <predicate>]
  having <condition>``: a violation is the one aggregate row when the condition holds.
  When their WHERE is the row checks' shared run slice (or both read the whole table)
  they are computed in the same scan as the row checks. ``-- observe: <column>`` names
  the aggregate recorded as ``observed_value`` on every run (the volume check compares
  today's count against that history).
* ``unique`` checks assert that a key occurs once and are written exactly as ``select
  <columns>, count(*) as <name> from <table> [where <predicate>] group by <key> having
  count(*) > 1``. When their WHERE is the fused scan's, the scan also computes
  ``count(*) - count(distinct struct(<key>))``, the copies beyond the first: zero passes
  with no query of its own; otherwise the check's own query gives its count and samples.
  One elsewhere runs as a table check.
* ``group`` checks judge each group of rows sharing a key and are written exactly as
  ``select <key columns>, <aggregates> from <table> [where <predicate>] group by <key>
  having <condition>``: a violation is a group for which the condition holds. When their
  WHERE is the fused scan's, the scan counts the violating groups (one aggregation per
  distinct key, however many checks group by it): zero passes with no query of its own;
  otherwise the check's own query gives its samples. One elsewhere runs as a table check.
* ``table`` checks (the default) are any SELECT: joins, distribution shift, anything else.

Severities: ``warn`` records and goes on; ``quarantine`` (row checks only) moves violating
rows to the table's quarantine table before the write commits; ``fail`` stops the run,
undoes the run's rows and raises :class:`DataQualityError`.

``{run_date}`` becomes a DATE literal rendered from a ``datetime.date`` object, the only
value ever substituted; the rest of the SQL comes from reviewed files in the repository,
never from run-time input. (Spark's own named parameters would be the natural binding, but
with Delta's SQL extension installed Spark 4.1 reports them as unbound.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from contentlake.config import validate_identifier
from contentlake.errors import JobFailed
from contentlake.sql_files import SQL_DIR

DQ_DIR = SQL_DIR / "dq"
SEVERITIES = ("warn", "quarantine", "fail")
KINDS = ("row", "aggregate", "unique", "group", "table")
SAMPLE_SIZE = 5

_HEADER = re.compile(r"^--\s*(severity|description|kind|observe)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_ROW_CHECK = re.compile(
    r"^\s*select\s+(?P<columns>.+?)\s+from\s+(?P<table>\w+)\s+where\s+(?P<predicate>.+?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_AGGREGATE_CHECK = re.compile(
    r"^\s*select\s+(?P<measures>.+?)\s+from\s+(?P<table>\w+)"
    r"(?:\s+where\s+(?P<predicate>.+?))?\s+having\s+(?P<having>.+?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_UNIQUE_CHECK = re.compile(
    r"^\s*select\s+(?P<columns>.+?)\s*,\s*count\(\s*\*\s*\)\s+as\s+\w+\s+from\s+(?P<table>\w+)"
    r"(?:\s+where\s+(?P<predicate>.+?))?\s+group\s+by\s+(?P<key>.+?)"
    r"\s+having\s+count\(\s*\*\s*\)\s*>\s*1\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_GROUP_CHECK = re.compile(
    r"^\s*select\s+(?P<columns>.+?)\s+from\s+(?P<table>\w+)"
    r"(?:\s+where\s+(?P<predicate>.+?))?\s+group\s+by\s+(?P<key>.+?)"
    r"\s+having\s+(?P<having>.+?)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
# kind -> the exact shape its SQL must have, and how a refusal describes that shape
_SHAPES = {
    "row": (_ROW_CHECK, "a row check must read 'select <columns> from {table} where <predicate>'"),
    "aggregate": (
        _AGGREGATE_CHECK,
        "an aggregate check must read 'select <aggregates> from {table} "
        "[where <predicate>] having <condition>'",
    ),
    "unique": (
        _UNIQUE_CHECK,
        "a unique check must read 'select <columns>, count(*) as <name> "
        "from {table} [where <predicate>] group by <key> having count(*) > 1'",
    ),
    "group": (
        _GROUP_CHECK,
        "a group check must read 'select <key columns>, <aggregates> "
        "from {table} [where <predicate>] group by <key> having <condition>'",
    ),
}
_RUN_SLICE = re.compile(
    r"^\s*(?P<slice>\w+\s*=\s*\{run_date\})(?:\s+and\s+(?P<rest>.+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Check:
    name: str
    table: str
    severity: str
    description: str
    sql: str
    kind: str = "table"
    observe: str | None = None
    predicate: str | None = None  # row: violations when true; aggregate: rows aggregated
    measures: str | None = None  # aggregate checks: the SELECT list of aggregates
    having: str | None = None  # aggregate and group checks: violation when true
    key: str | None = None  # unique and group checks: the GROUP BY list

    @classmethod
    def from_file(cls, path: Path) -> Check:
        header = {}
        body = []
        for line in path.read_text().splitlines():
            match = _HEADER.match(line)
            if match:
                header[match.group(1).lower()] = match.group(2)
            elif not line.lstrip().startswith("--"):
                body.append(line)
        table = validate_identifier(path.parent.name)
        severity = header.get("severity", "").lower()
        kind = header.get("kind", "table").lower()
        if severity not in SEVERITIES:
            raise ValueError(f"{path}: severity must be one of {SEVERITIES}, got {severity!r}")
        if kind not in KINDS:
            raise ValueError(f"{path}: kind must be one of {KINDS}, got {kind!r}")
        if severity == "quarantine" and kind != "row":
            raise ValueError(f"{path}: only row checks can quarantine rows")
        sql = "\n".join(body).strip()
        parts: dict[str, str | None] = {}
        if kind in _SHAPES:
            shape, described = _SHAPES[kind]
            match = shape.match(sql)
            if not match or match.group("table").lower() != table.lower():
                raise ValueError(f"{path}: " + described.format(table=table))
            parts = {k: v for k, v in match.groupdict().items() if k not in ("columns", "table")}
            if kind == "aggregate":
                _check_aggregate_shape(
                    path, parts["measures"], parts["having"], header.get("observe")
                )
        elif header.get("observe"):
            raise ValueError(f"{path}: only aggregate checks observe a value")
        return cls(
            name=path.stem,
            table=table,
            severity=severity,
            description=header.get("description", ""),
            sql=sql,
            kind=kind,
            observe=header.get("observe"),
            **parts,
        )


@dataclass(frozen=True)
class CheckResult:
    check: Check
    run_date: date
    table_version: int
    violation_count: int
    sample_keys: tuple[str, ...]
    duration_ms: int
    observed_value: float | None = None

    @property
    def status(self) -> str:
        if self.violation_count == 0:
            return "pass"
        return {"fail": "fail", "quarantine": "quarantined"}.get(self.check.severity, "warn")


class DataQualityError(JobFailed):
    """A fail-severity check found violations; nothing downstream should run."""

    def __init__(self, failures: list[CheckResult]):
        self.failures = failures
        lines = [
            f"check {r.check.name} on table {r.check.table} for {r.run_date}: "
            f"{r.violation_count} violating rows (sample keys: {', '.join(r.sample_keys)})"
            f" - {r.check.description}"
            for r in failures
        ]
        super().__init__("data-quality gate failed:\n  " + "\n  ".join(lines))


def checked_tables() -> list[str]:
    """Every table that has a folder of checks."""
    return sorted(path.name for path in DQ_DIR.iterdir() if path.is_dir())


def load_checks(table: str) -> list[Check]:
    """Every check declared for ``table``, in file-name order."""
    if table not in checked_tables():
        raise ValueError(f"no data-quality checks for table {table!r} (see {DQ_DIR})")
    return [Check.from_file(path) for path in sorted((DQ_DIR / table).glob("*.sql"))]


def bind_run_date(sql: str, run_date: date) -> str:
    """Put a DATE literal where the check says ``{run_date}``."""
    if not isinstance(run_date, date):
        raise TypeError(f"run_date must be a datetime.date, got {type(run_date).__name__}")
    return sql.replace("{run_date}", f"DATE '{run_date.isoformat()}'")


def shared_run_slice(checks: list[Check]) -> str | None:
    """The ``<column> = {run_date}`` conjunct that every row check's predicate opens with.

    Only a predicate of the form ``<column> = {run_date} [and <rest>]`` with no ``or`` at
    the top level of ``<rest>`` is a conjunction that includes the slice for certain
    (``and`` binds tighter than ``or``); anything else, and checks that disagree, give
    None, and the fused scan reads the whole table.
    """
    slices = set()
    for check in checks:
        match = _RUN_SLICE.match(check.predicate or "")
        if not match or _has_top_level_or(match.group("rest") or ""):
            return None
        slices.add(normalised_sql(match.group("slice")))
    return slices.pop() if len(slices) == 1 else None


def fuses_with(check: Check, run_slice: str | None) -> bool:
    """Whether an aggregate, unique or group check reads exactly the rows of the fused scan."""
    if check.kind not in ("aggregate", "unique", "group"):
        return False
    if check.predicate is None:
        return run_slice is None
    return run_slice is not None and normalised_sql(check.predicate) == normalised_sql(run_slice)


_AGGREGATE_CALL = re.compile(
    r"\b(count|count_if|sum|avg|mean|min|max|min_by|max_by|stddev\w*|var\w*|"
    r"collect_\w+|array_agg|percentile\w*|approx_\w+|first|last|any_value|every|bool_\w+)"
    r"\s*\(",
    re.IGNORECASE,
)
_ALIAS = re.compile(r"\bas\s+(\w+)\s*$", re.IGNORECASE)


def _check_aggregate_shape(path: Path, measures: str, having: str, observe: str | None) -> None:
    """An aggregate check's HAVING is judged on its one row of aggregates, so it names
    them by alias: every measure needs one, and the HAVING (outside its own subqueries)
    calls no aggregate function. ``observe`` must name a measure."""
    aliases = []
    for measure in _top_level_split(measures):
        alias = _ALIAS.search(measure)
        if not alias:
            raise ValueError(f"{path}: every aggregate needs an alias ('... as <name>')")
        aliases.append(alias.group(1).lower())
    if _AGGREGATE_CALL.search(_without_subqueries(having)):
        raise ValueError(
            f"{path}: the HAVING of an aggregate check refers to the aggregates by their "
            "aliases; it may not call an aggregate function itself"
        )
    if observe is not None and observe.lower() not in aliases:
        raise ValueError(f"{path}: observe names {observe!r}, which is not one of {aliases}")


def _top_level_split(sql: str) -> list[str]:
    """``sql`` split on the commas outside parentheses and string literals."""
    parts, depth, current = [], 0, []
    for token in re.findall(r"'[^']*'|[(),]|[^'(),]+", sql):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(token)
    parts.append("".join(current).strip())
    return parts


def _without_subqueries(sql: str) -> str:
    """``sql`` with every parenthesised ``(select ...)`` removed."""
    out, depth_of_subquery, depth = [], None, 0
    for match in re.finditer(r"'[^']*'|\(\s*select\b|[()]|[^'()]+", sql, re.IGNORECASE):
        token = match.group(0)
        opens_subquery = token.startswith("(") and len(token) > 1
        if token == "(" or opens_subquery:
            depth += 1
            if opens_subquery and depth_of_subquery is None:
                depth_of_subquery = depth
        elif token == ")":
            if depth == depth_of_subquery:
                depth_of_subquery = None
                depth -= 1
                continue
            depth -= 1
        if depth_of_subquery is None:
            out.append(token)
    return "".join(out)


def normalised_sql(sql: str) -> str:
    """``sql`` lower-cased with each run of whitespace as one space, for comparing clauses."""
    return re.sub(r"\s+", " ", sql.strip()).lower()


def _has_top_level_or(sql: str) -> bool:
    depth = 0
    for token in re.findall(r"\(|\)|'[^']*'|\b\w+\b", sql):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0 and token.lower() == "or":
            return True
    return False
