"""Look after the published snapshots: list, show, promote and roll back.

    python -m contentlake.snapshots list
    python -m contentlake.snapshots show [NAME]
    python -m contentlake.snapshots promote NAME [--force]
    python -m contentlake.snapshots rollback [--to NAME] [--restore-tables]

``rollback`` moves ``CURRENT`` (atomically) to the snapshot served before the current one,
read from the promotions log, or to ``--to NAME``; with ``--restore-tables`` it also puts
``content_embeddings`` back (Delta RESTORE) to the version that snapshot was built from, so
that the next nightly run starts from the vectors being served. Refused snapshots are never
served unless ``promote --force`` says so, which the promotions log records.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contentlake.config import Config, add_lakehouse_options, load_config
from contentlake.index_snapshot import (
    MANIFEST_FILE,
    REFUSED_FILE,
    current_snapshot_name,
    point_current,
    promotions,
    read_manifest,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

EMBEDDINGS_TABLE = "content_embeddings"


class SnapshotCommandError(RuntimeError):
    """A snapshot command that cannot do what it was asked, and why."""


@dataclass(frozen=True)
class SnapshotEntry:
    name: str
    manifest: dict[str, Any]
    refused: str | None
    current: bool

    @property
    def status(self) -> str:
        if self.current:
            return "CURRENT"
        return "refused" if self.refused else "ok"


def list_snapshots(snapshots_root: Path) -> list[SnapshotEntry]:
    """Every complete snapshot on disk, oldest first."""
    if not snapshots_root.is_dir():
        return []
    current = current_snapshot_name(snapshots_root)
    entries = []
    for folder in sorted(snapshots_root.iterdir()):
        if folder.name.startswith(".") or not (folder / MANIFEST_FILE).is_file():
            continue
        refused = folder / REFUSED_FILE
        entries.append(
            SnapshotEntry(
                name=folder.name,
                manifest=read_manifest(folder),
                refused=refused.read_text().strip() if refused.is_file() else None,
                current=folder.name == current,
            )
        )
    return entries


def promote(snapshots_root: Path, name: str, force: bool = False, reason: str = "promoted") -> None:
    """Serve ``name``; a refused snapshot only with ``force``."""
    entry = _entry(snapshots_root, name)
    if entry.refused and not force:
        raise SnapshotCommandError(
            f"{name} was refused ({entry.refused}); promote it with --force to serve it anyway"
        )
    forced = entry.refused is not None
    point_current(snapshots_root, name, f"{reason} (forced)" if forced else reason, forced)


def rollback_target(snapshots_root: Path) -> str:
    """The snapshot served before the current one that can still be served.

    Walks the promotions log backwards; a snapshot pruned since, or refused, is skipped.
    Without a log (a lakehouse from before it), the newest good snapshot older than the
    current one by name (run date first).
    """
    current = current_snapshot_name(snapshots_root)
    if current is None:
        raise SnapshotCommandError("no snapshot is served: nothing to roll back")
    servable = {e.name for e in list_snapshots(snapshots_root) if not e.refused}
    for move in reversed(promotions(snapshots_root)):
        if move["snapshot"] == current and move["previous"] in servable - {current}:
            return move["previous"]
    older = sorted(name for name in servable if name < current)
    if not older:
        raise SnapshotCommandError(f"no servable snapshot was served before {current}")
    return older[-1]


def rollback(snapshots_root: Path, to: str | None = None) -> str:
    """Move CURRENT back (to ``to`` or the previous good snapshot); return its name.

    The snapshot rolled back from is marked REFUSED: the next nightly run, rebuilding the
    same inputs, must not quietly serve it again (``promote --force`` still can).
    """
    target = to or rollback_target(snapshots_root)
    rolled_back = current_snapshot_name(snapshots_root)
    promote(snapshots_root, target, reason=f"rollback from {rolled_back}")
    if rolled_back and rolled_back != target:
        marker = snapshots_root / rolled_back / REFUSED_FILE
        if not marker.is_file():
            at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            marker.write_text(f"rolled back: replaced by {target} at {at}\n")
    return target


def restore_embeddings(spark: SparkSession, cfg: Config, name: str) -> int:
    """RESTORE ``content_embeddings`` to the version snapshot ``name`` was built from."""
    manifest = read_manifest(cfg.paths.snapshots / name)
    sources = manifest.get("source_tables", {})
    key = f"{cfg.database}.{EMBEDDINGS_TABLE}"
    if key not in sources:
        raise SnapshotCommandError(f"{name}'s manifest records no version of {key}")
    version = int(sources[key]["version"])
    spark.sql(f"restore table {key} to version as of {version}")
    return version


def retention_days_for(snapshots_root: Path, now: datetime, margin_days: int = 7) -> int:
    """Days of Delta history ``content_embeddings`` must keep so that every snapshot on disk
    can still be restored: the age of the oldest one plus a margin, never under 30 (Delta's
    own default log retention)."""
    ages = [
        (now - datetime.fromisoformat(entry.manifest["created_at"])).total_seconds() / 86_400
        for entry in list_snapshots(snapshots_root)
        if "created_at" in entry.manifest
    ]
    return max(30, math.ceil(max(ages, default=0.0)) + margin_days)


def keep_snapshot_versions_reachable(spark: SparkSession, cfg: Config) -> int | None:
    """Raise ``content_embeddings``' log and deleted-file retention to cover every kept
    snapshot (see :func:`retention_days_for`), so neither VACUUM nor log clean-up removes a
    version a rollback may RESTORE. Returns the new retention in days, or None when the
    table already keeps enough (the usual case: no commit then)."""
    days = retention_days_for(cfg.paths.snapshots, datetime.now(timezone.utc))
    table = f"{cfg.database}.{EMBEDDINGS_TABLE}"
    properties = {row.key: row.value for row in spark.sql(f"show tblproperties {table}").collect()}
    wanted = {
        key: f"interval {days} days"
        for key in ("delta.logRetentionDuration", "delta.deletedFileRetentionDuration")
        if _days(properties.get(key)) < days
    }
    if not wanted:
        return None
    settings = ", ".join(f"'{key}' = '{value}'" for key, value in wanted.items())
    spark.sql(f"alter table {table} set tblproperties ({settings})")
    return days


def _days(interval: str | None) -> float:
    """Days of a Delta interval property ('interval 30 days', 'interval 168 hours');
    an absent property is Delta's default, taken as the lowest (7 days)."""
    if not interval:
        return 7.0
    amount, unit = interval.split()[-2:]
    per_day = {"day": 1, "days": 1, "hour": 24, "hours": 24, "week": 1 / 7, "weeks": 1 / 7}
    return float(amount) / per_day.get(unit.lower(), 1)


def _entry(snapshots_root: Path, name: str) -> SnapshotEntry:
    for entry in list_snapshots(snapshots_root):
        if entry.name == name:
            return entry
    raise SnapshotCommandError(f"no snapshot named {name!r} under {snapshots_root}")


def _describe(entry: SnapshotEntry) -> str:
    manifest = entry.manifest
    index = manifest.get("index", {})
    evaluation = manifest.get("evaluation") or {}
    metric = next((k for k in ("ndcg@10",) if k in evaluation), None)
    scored = f"{metric} {evaluation[metric]:.4f}" if metric else "not evaluated"
    return (
        f"{entry.status:<8} {entry.name}  {manifest.get('vector_count', '?'):>8} vectors  "
        f"{index.get('factory', '?'):<24} {scored}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_lakehouse_options(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every snapshot on disk, oldest first")
    show = commands.add_parser("show", help="a snapshot's manifest (default: CURRENT)")
    show.add_argument("name", nargs="?")
    promote_cmd = commands.add_parser("promote", help="serve a snapshot")
    promote_cmd.add_argument("name")
    promote_cmd.add_argument("--force", action="store_true", help="serve it even if refused")
    rollback_cmd = commands.add_parser("rollback", help="serve the previous good snapshot")
    rollback_cmd.add_argument("--to", default=None, help="this snapshot instead")
    rollback_cmd.add_argument(
        "--restore-tables",
        action="store_true",
        help="also RESTORE content_embeddings to the version the snapshot was built from",
    )
    args = parser.parse_args(argv)
    cfg = load_config(profile=args.profile, root=args.root)
    root = cfg.paths.snapshots
    try:
        if args.command == "list":
            for entry in list_snapshots(root):
                print(_describe(entry))
        elif args.command == "show":
            name = args.name or current_snapshot_name(root)
            if name is None:
                raise SnapshotCommandError("no snapshot is served")
            entry = _entry(root, name)
            print(
                json.dumps(
                    {"status": entry.status, "refused": entry.refused, **entry.manifest},
                    indent=2,
                    sort_keys=True,
                )
            )
        elif args.command == "promote":
            promote(root, args.name, force=args.force)
            print(f"CURRENT -> {args.name}")
        else:
            target = rollback(root, args.to)
            print(f"CURRENT -> {target}")
            if args.restore_tables:
                from contentlake.session import build_spark  # pyspark only for the tables

                spark = build_spark(cfg)
                try:
                    version = restore_embeddings(spark, cfg, target)
                finally:
                    spark.stop()
                print(f"{cfg.database}.{EMBEDDINGS_TABLE} restored to version {version}")
    except SnapshotCommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
