"""``python -m contentlake.snapshots``: list, show, promote and roll back."""

import json
from datetime import date

import numpy as np
import pytest

from contentlake.config import load_config
from contentlake.index_snapshot import (
    REFUSED_FILE,
    current_snapshot_name,
    publish_snapshot,
    snapshot_fingerprint,
)
from contentlake.snapshots import (
    SnapshotCommandError,
    list_snapshots,
    main,
    promote,
    rollback,
)


def publish(root, day, seed, min_self_recall=0.0):
    ids = [f"c{i}" for i in range(8)]
    vectors = np.random.default_rng(seed).normal(size=(8, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    if min_self_recall:
        vectors[1] = vectors[0]  # twins: self-recall 7/8, below a gate of 1.0
    fingerprint = snapshot_fingerprint(ids, [str(seed)] * 8, "v1", "Flat", "inner_product")
    return publish_snapshot(
        root,
        date(2026, 11, day),
        ids,
        vectors,
        fingerprint,
        "Flat",
        "inner_product",
        {},
        min_self_recall=min_self_recall,
    ).name


@pytest.fixture
def three_days(tmp_path):
    root = tmp_path / "lakehouse"
    snapshots = root / "snapshots"
    names = [publish(snapshots, day, seed=day) for day in (1, 2, 3)]
    return root, snapshots, names


def test_rollback_serves_the_snapshot_served_before_and_refuses_the_rolled_back_one(three_days):
    _, snapshots, (first, second, third) = three_days

    assert rollback(snapshots) == second
    assert current_snapshot_name(snapshots) == second
    assert (
        (snapshots / third / REFUSED_FILE)
        .read_text()
        .startswith(f"rolled back: replaced by {second}")
    )
    # The next rollback skips the refused snapshot and goes one further back.
    assert rollback(snapshots) == first
    assert [e.status for e in list_snapshots(snapshots)] == ["CURRENT", "refused", "refused"]


def test_rollback_to_a_named_snapshot(three_days):
    _, snapshots, (first, _, third) = three_days
    assert rollback(snapshots, to=first) == first
    assert current_snapshot_name(snapshots) == first
    assert (snapshots / third / REFUSED_FILE).is_file()


def test_a_refused_snapshot_is_promoted_only_by_force(three_days):
    _, snapshots, (_, _, third) = three_days
    with pytest.raises(Exception, match="self_recall"):
        publish(snapshots, 4, seed=4, min_self_recall=1.0)
    refused = next(e.name for e in list_snapshots(snapshots) if e.refused)

    with pytest.raises(SnapshotCommandError, match="--force"):
        promote(snapshots, refused)
    assert current_snapshot_name(snapshots) == third
    promote(snapshots, refused, force=True)
    assert current_snapshot_name(snapshots) == refused


def test_cli_lists_shows_and_rolls_back(three_days, capsys):
    root, snapshots, (_, second, third) = three_days

    assert main(["--root", str(root), "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in listed][-1] == ["CURRENT", third]

    assert main(["--root", str(root), "show"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["snapshot"], shown["status"], shown["vector_count"]) == (third, "CURRENT", 8)

    assert main(["--root", str(root), "rollback"]) == 0
    assert capsys.readouterr().out.strip() == f"CURRENT -> {second}"
    assert main(["--root", str(root), "promote", "nope"]) == 1
    assert "no snapshot named 'nope'" in capsys.readouterr().err


def test_nothing_to_roll_back_to_is_an_error(tmp_path):
    snapshots = load_config("local", root=tmp_path).paths.snapshots
    publish(snapshots, 1, seed=1)
    with pytest.raises(SnapshotCommandError, match="no servable snapshot"):
        rollback(snapshots)
