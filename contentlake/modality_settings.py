"""Typed settings of the non-text modalities and their fusion (``image_embedding``,
``behaviour``, ``fusion`` in ``conf/base.yaml``), and the model version of each modality.

Kept apart from ``contentlake/config.py``, which only holds one field per section; no
pyspark or torch import here, so the DAG's machine loads the configuration without them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from contentlake.contract import EVENT_TYPES

TEXT = "text"
VISUAL = "visual"
BEHAVIOUR = "behaviour"
FUSED = "fused"
# The modalities a fused vector may hold, in the order of their blocks.
FUSABLE = (TEXT, VISUAL, BEHAVIOUR)
INDEXABLE = (*FUSABLE, FUSED)
# How a fused vector fills the block of a modality the item lacks (docs/multimodal.md).
MISSING_RULES = ("group_mean",)


@dataclass(frozen=True)
class ImageEmbeddingSettings:
    """``image_embedding``: the model of keyframes and posters (udfs/image_embedding.py)."""

    model: str = "efficientnet-lite0"
    model_version: str | None = None  # None: fingerprint of preprocessing and weights
    device: str = "auto"
    batch_size: int = 64
    images_per_call: int = 256
    partitions: int | None = None
    # The poster joins the item's keyframes in its visual vector.
    include_poster: bool = True


@dataclass(frozen=True)
class BehaviourSettings:
    """``behaviour``: implicit-feedback ALS over a trailing window of events."""

    window_days: int = 28
    # Items watched by fewer distinct users than this in the window get no behaviour vector.
    min_users: int = 3
    rank: int = 32
    max_iter: int = 10
    reg_param: float = 0.05
    alpha: float = 10.0
    seed: int = 42
    # ALS user/item blocks and the ratings' partitions: fixed, so a fit is reproducible.
    blocks: int = 2
    # Confidence = sum over the user's events on the item of event_weights[type]
    # + watch_weight * the largest watched fraction of the item's duration.
    event_weights: dict[str, float] = field(
        default_factory=lambda: {
            "impression": 0.0,
            "click": 0.5,
            "play": 1.0,
            "pause": 0.5,
            "complete": 2.0,
            "like": 3.0,
            "share": 3.0,
        }
    )
    watch_weight: float = 2.0
    model_version: str | None = None  # None: fingerprint of the settings above

    def __post_init__(self) -> None:
        unknown = set(self.event_weights) - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"behaviour.event_weights names unknown event types {unknown}")
        if self.window_days < 1 or self.min_users < 1 or self.rank < 1 or self.blocks < 1:
            raise ValueError("behaviour.window_days, min_users, rank and blocks must be >= 1")


@dataclass(frozen=True)
class FusionSettings:
    """``fusion``: one vector per item from the per-modality vectors."""

    # Each modality's share of the fused cosine (normalised to sum 1); 0 leaves it out.
    weights: dict[str, float] = field(
        default_factory=lambda: {TEXT: 1.0, VISUAL: 1.0, BEHAVIOUR: 1.0}
    )
    # PCA to this many dimensions, fitted in Spark on the run's fused vectors; None: none.
    projection_dim: int | None = None
    missing: str = "group_mean"
    model_version: str | None = None  # None: fingerprint of these settings and the inputs'

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(FUSABLE)
        if unknown:
            raise ValueError(f"fusion.weights names unknown modalities {unknown}")
        if any(w < 0 for w in self.weights.values()) or not any(self.weights.values()):
            raise ValueError("fusion.weights must be >= 0 with at least one above 0")
        if self.missing not in MISSING_RULES:
            raise ValueError(f"fusion.missing must be one of {MISSING_RULES}")
        if self.projection_dim is not None and self.projection_dim < 1:
            raise ValueError("fusion.projection_dim must be >= 1 or null")

    @property
    def used(self) -> tuple[str, ...]:
        """The fused modalities, in block order."""
        return tuple(m for m in FUSABLE if self.weights.get(m, 0) > 0)

    def shares(self) -> dict[str, float]:
        total = sum(self.weights.get(m, 0.0) for m in self.used)
        return {m: self.weights[m] / total for m in self.used}


def image_settings(raw: dict[str, Any] | None) -> ImageEmbeddingSettings:
    return ImageEmbeddingSettings(**(raw or {}))


def behaviour_settings(raw: dict[str, Any] | None) -> BehaviourSettings:
    raw = dict(raw or {})
    if "event_weights" in raw:
        raw["event_weights"] = {k: float(v) for k, v in raw["event_weights"].items()}
    return BehaviourSettings(**raw)


def fusion_settings(raw: dict[str, Any] | None) -> FusionSettings:
    raw = dict(raw or {})
    if "weights" in raw:
        raw["weights"] = {k: float(v) for k, v in raw["weights"].items()}
    return FusionSettings(**raw)


def settings_fingerprint(label: str, settings: Any, *parts: str) -> str:
    """16 hex digits of sha256 over ``label``, the settings (less ``model_version``) and
    ``parts``: a version that changes exactly when the recipe does."""
    body = {k: v for k, v in asdict(settings).items() if k != "model_version"}
    text = json.dumps([label, body, list(parts)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def behaviour_model_version(settings: BehaviourSettings) -> str:
    return settings.model_version or settings_fingerprint("als-implicit", settings)


def fused_model_version(settings: FusionSettings, component_versions: dict[str, str]) -> str:
    """The fused vectors' version: the fusion recipe and the version of every modality
    present (``component_versions``), so a new text, image or behaviour model, or a modality
    that appears or disappears (the vector's layout changes), gives new fused vectors beside
    the old ones. A configured modality with no vectors at all (a catalogue without media)
    is simply not part of it."""
    if settings.model_version:
        return settings.model_version
    parts = [f"{m}={component_versions[m]}" for m in settings.used if m in component_versions]
    return settings_fingerprint("fusion", settings, *parts)
