"""The ``drift`` settings: typed, overlaid key by key, refused when they cannot work."""

from __future__ import annotations

import pytest
from contentlake.jobs.measure_drift import warn_thresholds

from contentlake.config import DriftSettings, DriftThresholds, load_config


def test_drift_settings_come_from_base_yaml_and_overlay_key_by_key(tmp_path) -> None:
    assert load_config("local", root=tmp_path).drift == DriftSettings(
        baseline_days=7,
        bins=10,
        epsilon=1e-4,
        neighbour_k=10,
        neighbour_sample=1000,
        warn=DriftThresholds(
            psi=0.2,
            js_divergence=0.05,
            mean_cosine_distance=0.05,
            changed_share=0.2,
            neighbour_overlap=0.5,
        ),
    )
    drift = load_config(
        "local", root=tmp_path, overrides={"drift": {"neighbour_k": 5, "warn": {"psi": 0.1}}}
    ).drift
    assert (drift.neighbour_k, drift.warn.psi, drift.warn.js_divergence) == (5, 0.1, 0.05)
    # The threshold of each metric that has one, the overlap under its k.
    assert warn_thresholds(drift) == {
        "psi": 0.1,
        "js_divergence": 0.05,
        "mean_cosine_distance": 0.05,
        "changed_share": 0.2,
        "neighbour_overlap_at_5": 0.5,
    }


@pytest.mark.parametrize(
    "drift",
    [{"bins": 1}, {"baseline_days": 0}, {"epsilon": 0}, {"epsilon": 0.5}, {"neighbour_sample": 0}],
)
def test_unusable_drift_settings_are_refused(tmp_path, drift) -> None:
    with pytest.raises(ValueError, match="drift"):
        load_config("local", root=tmp_path, overrides={"drift": drift})
