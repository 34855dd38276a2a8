"""The landing files of one source and day: find them, refuse any that resolve outside the
landing root, probe that each can be read at all, and move the unreadable ones aside.

Pure Python (``gzip``, ``codecs``, ``pyarrow``), so it runs before Spark reads anything and
a file Spark would choke on never reaches Spark. A dead-lettered file moves to::

    <dead_letter>/<source>/date=<run_date>/<file name>
    <dead_letter>/<source>/date=<run_date>/<file name>.reason.json

The sidecar names the reason; a rerun finds the file there instead of in landing and
reports the same day, so moving is idempotent.

Nothing in the day folder is skipped silently. Names match the source's patterns
case-insensitively (``A.CSV.GZ`` is a gzipped CSV); hidden (``.``) and ``_`` files are
uploads in progress or markers and are left alone, as Spark does; any other file that
matches no pattern is dead-lettered as an unsupported file type. A CSV whose last row has
no trailing newline may have been cut mid-write, and unlike a JSON line it cannot be told
complete by parsing it (a row cut inside its last field still has every field), so the
whole file is dead-lettered as truncated, as a cut JSON file or gzip stream is: none of its
rows lands until the complete file is put back for a replay. A day with no landing files
at all is a quiet day: nothing to read, a warning, and ``landing_files: 0`` in the details.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import gzip
import io
import json
import logging
import os
import shutil
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".reason.json"
PLAIN_SUFFIXES = (".csv", ".json", ".jsonl", ".ndjson", ".parquet")
_CHUNK = 1 << 20
_LABELS = {"catalog": "catalogue", "events": "event"}


class LandingError(Exception):
    """Landing input the job must not (or cannot) process; the message says which and why."""


@dataclass(frozen=True)
class DeadLetter:
    """A landing file that could not be read, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class LandingDay:
    """The day's landing files: those worth reading and those set aside."""

    folder: Path
    readable: tuple[Path, ...]
    dead_letters: tuple[DeadLetter, ...]

    def details(self) -> dict[str, str]:
        """JobResult details: ``dead_letter_files`` and one ``dead_letter.<name>`` per file;
        ``landing_files: 0`` on a quiet day."""
        details = {} if self.readable else {"landing_files": "0"}
        if self.dead_letters:
            details["dead_letter_files"] = str(len(self.dead_letters))
            details.update({f"dead_letter.{d.name}": d.reason for d in self.dead_letters})
        return details


def day_folder(root: Path, source: str, run_date: date) -> Path:
    return Path(root) / source / f"date={run_date.isoformat()}"


def confined(path: Path, root: Path) -> Path:
    """``path`` resolved, or :class:`LandingError` if it resolves outside ``root``."""
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(Path(root).resolve()):
        raise LandingError(
            f"{path} resolves to {resolved}, outside the landing root {root}; "
            "refusing to read it (a symlink out of landing?)"
        )
    return resolved


def landing_files(folder: Path, root: Path, patterns: Sequence[str]) -> list[Path]:
    """Files of ``folder`` matching ``patterns`` case-insensitively, sorted; hidden (``.``)
    and ``_`` files are skipped as uploads in progress or markers, as Spark does."""
    return [path for path in _day_files(folder, root) if _matches(path, patterns)]


def unmatched_files(folder: Path, root: Path, patterns: Sequence[str]) -> list[Path]:
    """Files of ``folder`` that :func:`landing_files` does not return and does not skip."""
    return [path for path in _day_files(folder, root) if not _matches(path, patterns)]


def _day_files(folder: Path, root: Path) -> list[Path]:
    if not folder.exists():
        return []
    confined(folder, root)
    files = sorted(p for p in folder.iterdir() if not p.name.startswith((".", "_")))
    for path in files:
        confined(path, root)
    return [path for path in files if path.is_file()]


def _matches(path: Path, patterns: Sequence[str]) -> bool:
    name = path.name.lower()
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in patterns)


def file_format(path: Path) -> str:
    """``csv``, ``json`` or ``parquet`` from the name (``.gz`` is looked through)."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if ".csv" in name:
        return "csv"
    if ".json" in name:
        return "json"
    raise LandingError(f"{path}: unknown landing file format")


def probe(path: Path) -> str | None:
    """Why ``path`` cannot be read as a whole, or None when it can.

    Only whole-file damage counts here (a truncated gzip, a CSV without a header, a CSV whose
    last row has no trailing newline, a JSON file whose last line is cut off, a broken
    Parquet file, bytes that are not UTF-8 text). A bad record inside a readable file is
    the quarantine's business.
    """
    fmt = file_format(path)
    name = path.name.lower()
    if not name.endswith((*PLAIN_SUFFIXES, ".gz")):
        return f"unsupported file type {path.suffix!r}: plain or .gz {fmt} expected"
    try:
        if fmt == "parquet":
            return _probe_parquet(path)
        return _probe_text(path, fmt)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        return f"unreadable gzip: {err}"
    except OSError as err:
        return f"cannot read file: {err}"


def _probe_parquet(path: Path) -> str | None:
    try:
        parquet = pq.ParquetFile(path)
        for _ in parquet.iter_batches(batch_size=65_536):
            pass
    except Exception as err:  # pyarrow raises several unrelated error types
        return f"unreadable Parquet: {_first_line(err)}"
    return None


def _probe_text(path: Path, fmt: str) -> str | None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    tail: list[str] = []  # text after the last newline seen so far
    offset = 0
    with _open_binary(path) as handle:
        while chunk := handle.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as err:
                return f"not UTF-8 text: invalid byte at byte {offset + err.start}"
            nul = chunk.find(b"\0")
            if nul >= 0:
                return f"binary content: NUL byte at byte {offset + nul}"
            offset += len(chunk)
            head, newline, rest = text.rpartition("\n")
            tail = [rest] if newline else [*tail, text]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "not UTF-8 text: ends inside a multi-byte character"
    if fmt == "csv" and offset == 0:
        return "empty file: no CSV header row"
    last_line = "".join(tail).strip()
    if fmt == "csv" and last_line:
        return "truncated: the last row has no trailing newline (the file may be cut mid-write)"
    if fmt == "json" and last_line and not _is_json(last_line):
        return "truncated: the last line is cut mid-record (no trailing newline)"
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


@contextmanager
def _open_binary(path: Path) -> Iterator[BinaryIO]:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            yield handle
    else:
        with path.open("rb") as handle:
            yield handle


def read_csv_header(path: Path) -> list[str]:
    """The column names of a (possibly gzipped) CSV file's header row, as written."""
    with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        return next(csv.reader(text), [])


def parquet_columns(path: Path) -> list[str]:
    """The top-level column names of a Parquet file, from its footer."""
    return list(pq.read_schema(path).names)


def dead_lettered(folder: Path) -> list[DeadLetter]:
    """Files an earlier run of the day moved to ``folder``, from their sidecars."""
    if not folder.exists():
        return []
    letters = []
    for sidecar in sorted(folder.glob(f"*{SIDECAR_SUFFIX}")):
        record = json.loads(sidecar.read_text())
        letters.append(DeadLetter(name=record["file"], reason=record["reason"]))
    return letters


def move_to_dead_letter(path: Path, folder: Path, reason: str, source: str) -> DeadLetter:
    """Write the sidecar, then move the file; a crash in between leaves the file in landing,
    so the next run probes and moves it again."""
    folder.mkdir(parents=True, exist_ok=True)
    sidecar = folder / f"{path.name}{SIDECAR_SUFFIX}"
    record = {"file": path.name, "source": source, "reason": reason, "landing_path": str(path)}
    partial = sidecar.with_name(f".{sidecar.name}.tmp")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(partial, sidecar)
    shutil.move(path, folder / path.name)
    logger.warning("dead-lettered landing file %s: %s (moved to %s)", path, reason, folder)
    return DeadLetter(name=path.name, reason=reason)


def collect_landing_day(
    landing_root: Path,
    dead_letter_root: Path,
    source: str,
    run_date: date,
    patterns: Sequence[str],
) -> LandingDay:
    """Probe the day's landing files, dead-letter the unreadable ones, report both.

    A file matching none of ``patterns`` is dead-lettered as an unsupported file type. A
    day with no files at all is a quiet day: an empty :class:`LandingDay` and a warning.
    Raises :class:`LandingError` when files landed but every one of them is (or already
    was) dead-lettered.
    """
    label = _LABELS.get(source, source)
    folder = day_folder(landing_root, source, run_date)
    letters_folder = day_folder(dead_letter_root, source, run_date)
    files = landing_files(folder, landing_root, patterns)
    readable, moved = [], []
    for path in unmatched_files(folder, landing_root, patterns):
        kind = repr(path.suffix) if path.suffix else "(no extension)"
        reason = f"unsupported file type {kind}: {label} landing files match {', '.join(patterns)}"
        moved.append(move_to_dead_letter(path, letters_folder, reason, source))
    for path in files:
        reason = probe(path)
        if reason is None:
            readable.append(path)
        else:
            moved.append(move_to_dead_letter(path, letters_folder, reason, source))
    # A file put back into landing for a replay is no longer the day's dead letter.
    replayed = {path.name for path in readable}
    letters = [d for d in dead_lettered(letters_folder) if d.name not in replayed]
    if not readable and letters:
        names = ", ".join(d.name for d in letters)
        raise LandingError(
            f"every {label} landing file for {run_date} is unreadable and was moved to "
            f"{letters_folder} ({names}); see the .reason.json files there"
        )
    if not readable:
        logger.warning(
            "no %s landing files for %s under %s: a quiet day, nothing to ingest",
            label,
            run_date,
            folder,
        )
        return LandingDay(folder=folder, readable=(), dead_letters=())
    for letter in letters:
        if letter not in moved:
            logger.warning(
                "landing file %s was dead-lettered earlier: %s", letter.name, letter.reason
            )
    return LandingDay(folder=folder, readable=tuple(readable), dead_letters=tuple(letters))
