"""Landing columns against the contract: what is missing, what is extra, what may evolve.

Pure Python, fed with the column names a file declares (a CSV header, a Parquet footer or
the keys of JSON records). A missing contract column stops the job; an extra one is
ignored with a warning or, under ``ingest.extra_columns: evolve``, kept in bronze.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# A name Delta stores as a column without column mapping, and that reads plainly in SQL.
_EVOLVABLE = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")


def normalize_column(name: str) -> str:
    """Header names match case-insensitively, ignoring surrounding blanks."""
    return name.strip().lower()


@dataclass(frozen=True)
class FileColumns:
    """One landing file's columns compared with the contract."""

    file: str
    columns: tuple[str, ...]  # normalised, in file order
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    duplicated: tuple[str, ...]


def compare_columns(file: str, found: Sequence[str], required: Sequence[str]) -> FileColumns:
    columns = tuple(normalize_column(name) for name in found)
    present = set(columns)
    return FileColumns(
        file=file,
        columns=columns,
        missing=tuple(name for name in required if name not in present),
        extra=tuple(name for name in dict.fromkeys(columns) if name not in required),
        duplicated=tuple(sorted(name for name, n in Counter(columns).items() if n > 1 and name)),
    )


def contract_violation(files: Iterable[FileColumns]) -> str | None:
    """The message that fails the job, naming every file and column at fault; None if none."""
    problems = []
    for checked in files:
        if checked.missing:
            missing = ", ".join(checked.missing)
            problems.append(f"{checked.file} lacks required column(s) {missing}")
        if checked.duplicated:
            duplicated = ", ".join(checked.duplicated)
            problems.append(f"{checked.file} names column(s) {duplicated} more than once")
    if not problems:
        return None
    return "landing files break the column contract: " + "; ".join(problems)


@dataclass(frozen=True)
class ExtraColumns:
    """What to do with the columns beyond the contract."""

    keep: tuple[str, ...]  # evolve these into bronze
    dropped: tuple[str, ...]  # ignored, with a warning

    def details(self) -> dict[str, str]:
        """JobResult details naming the extra columns, empty when there are none."""
        details = {}
        if self.keep:
            details["extra_columns.evolved"] = ",".join(self.keep)
        if self.dropped:
            details["extra_columns.ignored"] = ",".join(repr(n) for n in self.dropped)
        return details


def decide_extra_columns(
    extra: Iterable[str], policy: str, reserved: Iterable[str] = ()
) -> ExtraColumns:
    """Under ``evolve`` keep every extra column whose name can be a plain Delta column
    and is not one of ``reserved`` (bookkeeping such as ``source_file``); drop the rest."""
    names = tuple(sorted(set(extra)))
    if policy != "evolve":
        return ExtraColumns(keep=(), dropped=names)
    blocked = set(reserved)
    keep = tuple(n for n in names if _EVOLVABLE.match(n) and n not in blocked)
    return ExtraColumns(keep=keep, dropped=tuple(n for n in names if n not in keep))


def columns_by_file(files: Iterable[FileColumns]) -> dict[str, list[str]]:
    """Extra column -> the files that carry it."""
    seen: dict[str, list[str]] = {}
    for checked in files:
        for name in checked.extra:
            seen.setdefault(name, []).append(checked.file)
    return seen


def log_extra_columns(source: str, seen_in: dict[str, list[str]], extra: ExtraColumns) -> None:
    """Warn about ignored columns, naming each and its files; note the evolved ones."""
    for name in extra.dropped:
        logger.warning(
            "%s landing column %r is not in the contract and is ignored (in %s)",
            source,
            name,
            ", ".join(seen_in.get(name, [])),
        )
    for name in extra.keep:
        logger.info(
            "%s landing column %r is not in the contract; kept in bronze (evolve) (in %s)",
            source,
            name,
            ", ".join(seen_in.get(name, [])),
        )
