"""The report's retrieval-quality parts, on plain pandas frames and manifests; no Spark."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pandas as pd

from contentlake.index_snapshot import Snapshot
from contentlake.report import _evaluation_plot, _snapshot_section


def test_the_evaluation_plot_draws_every_snapshot() -> None:
    evaluations = pd.DataFrame(
        {
            "snapshot": ["s1", "s1", "s2"],
            "run_date": [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 28)],
            "k": [10, 10, 10],
            "ndcg_at_k": [0.3, 0.31, 0.35],
            "mrr_at_k": [0.4, 0.41, 0.45],
            "recall_at_k": [0.2, 0.2, 0.25],
            "map_at_k": [0.1, None, 0.12],  # a null metric is a gap, not an error
        }
    )
    png = base64.b64decode(_evaluation_plot(evaluations))
    assert png.startswith(b"\x89PNG")


def test_the_snapshot_section_shows_the_manifest_s_evaluation() -> None:
    manifest = {
        "vector_count": 3,
        "index": {"factory": "Flat", "metric": "inner_product", "self_recall_at_1": 1.0},
        "model": {"name": "m", "version": "1"},
        "created_at": "2026-11-28T03:00:00+00:00",
        "evaluation": {
            "k": 10,
            "queries": 40,
            "ndcg@10": 0.3125,
            "mrr@10": None,
            "recall@10": 0.25,
            "map@10": 0.125,
            "window": {"start": "2026-11-22", "end": "2026-11-28"},
        },
    }
    snapshot = Snapshot(path=Path("2026-11-28_abc"), manifest=manifest, index=None, ids=[])
    html = _snapshot_section(snapshot)
    assert "<td>ndcg@10</td>" in html and "<td>0.3125</td>" in html
    assert "<td>2026-11-22 to 2026-11-28</td>" in html
    assert "<td>n/a</td>" in html
