"""The report's drift plot, on a plain pandas frame; no Spark."""

from __future__ import annotations

import base64
from datetime import date

import pandas as pd

from contentlake.report import _drift_figure, _drift_plot


def test_the_drift_plot_draws_a_panel_per_subject_and_metric_with_gaps() -> None:
    days = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    rows = []
    for subject, metric, threshold in (
        ("content_daily_features", "psi", 0.2),
        ("events", "js_divergence", 0.05),
        ("content_embeddings", "mean_l2_shift", None),
        ("index_snapshot", "neighbour_overlap_at_10", 0.5),
        ("events", "psi", 0.2),
    ):
        for feature in ("views_1d", "device") if subject != "index_snapshot" else ("neighbours",):
            # The first day has nothing to compare: a gap, not an error.
            rows += [
                (day, subject, metric, feature, None if day == days[0] else 0.1 * n, threshold)
                for n, day in enumerate(days)
            ]
    drift = pd.DataFrame(
        rows, columns=["run_date", "subject", "metric", "feature", "value", "warn_threshold"]
    )
    png = base64.b64decode(_drift_plot(drift))
    assert png.startswith(b"\x89PNG")

    figure = _drift_figure(drift)
    panels = {axes.get_title(): axes for axes in figure.axes}
    assert sorted(panels) == [
        "content_daily_features\npsi",
        "content_embeddings\nmean_l2_shift",
        "events\njs_divergence",
        "events\npsi",
        "index_snapshot\nneighbour_overlap_at_10",
    ]
    features = panels["content_daily_features\npsi"]
    # two feature lines and the dashed threshold at 0.2
    assert sorted(line.get_label() for line in features.lines if line.get_marker() == "o") == [
        "device",
        "views_1d",
    ]
    assert [line.get_ydata()[0] for line in features.lines if line.get_linestyle() == "--"] == [0.2]
    assert not [
        line
        for line in panels["content_embeddings\nmean_l2_shift"].lines
        if line.get_linestyle() == "--"
    ]
