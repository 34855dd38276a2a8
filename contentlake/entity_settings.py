"""Typed settings of entity resolution (``entities`` in ``conf/base.yaml``).

Kept apart from ``contentlake/config.py`` (one field per section there) and free of pyspark,
so the DAG's machine loads the configuration without it. What each threshold means and why
its default is what it is: ``docs/entities.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENTITY_MODALITIES = ("text", "fused")


@dataclass(frozen=True)
class AnnSettings:
    """Random-hyperplane LSH (SimHash) on the item vectors: ``bands`` keys per item, each
    the signs of ``bits`` projections. Two vectors at cosine c share a band with
    probability (1 - acos(c)/pi)^bits; ``bands`` of them raise the chance that a close pair
    shares at least one, and only pairs at ``min_cosine`` or above stay candidates."""

    bands: int = 12
    bits: int = 14
    min_cosine: float = 0.8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.bands < 1 or not 1 <= self.bits <= 62:
            raise ValueError("entities.ann.bands must be >= 1 and bits in [1, 62]")
        if not -1 <= self.min_cosine <= 1:
            raise ValueError("entities.ann.min_cosine must lie in [-1, 1]")


@dataclass(frozen=True)
class MatchRules:
    """Thresholds of the rules that accept a pair (first that holds names the match).

    Every rule but the shared video file also needs the pair's titles to carry the same
    numbers (a sequel, episode 3 against episode 4), the same content type, no two
    different series, and running times and release years that agree.
    """

    # same_title: the normalised titles (nearly) equal.
    same_title_similarity: float = 0.9
    # similar_title: titles close, and the synopses or the vectors close.
    similar_title_similarity: float = 0.7
    similar_title_cosine: float = 0.85
    # same_synopsis: a regional edition's translated title, said by everything else: the
    # synopsis's words (Jaccard) nearly the same.
    same_synopsis_similarity: float = 0.9
    # close_vectors: the vectors alone nearly the same.
    close_vectors_cosine: float = 0.97
    # vectors_only (review, not merged): a pair this close by vector failing every rule.
    review_cosine: float = 0.93


@dataclass(frozen=True)
class EntitySettings:
    """``entities``: how ``jobs/resolve_entities.py`` finds one identity per work."""

    # The vectors whose cosine is a pair feature and whose LSH proposes candidates: text,
    # or fused (which mixes in behaviour, split between copies, and filled-in blocks).
    modality: str = "text"
    # A blocking key shared by more items than this proposes no pairs (a placeholder poster,
    # a title like "Pilot"); the LSH bands are capped the same way.
    max_block_size: int = 100
    # Running times agree within this share of the longer one (PAL speed-up is 4%).
    duration_tolerance: float = 0.05
    # Release years agree within this many years (a regional release, a year-only date).
    max_year_gap: int = 1
    ann: AnnSettings = field(default_factory=AnnSettings)
    rules: MatchRules = field(default_factory=MatchRules)
    # Words dropped from titles before comparing (edition markers), lower case.
    title_noise_words: tuple[str, ...] = (
        "hd",
        "uhd",
        "4k",
        "1080p",
        "720p",
        "remastered",
        "uncut",
        "extended",
        "edition",
        "directors",
        "cut",
    )
    # Leading or trailing articles dropped from titles ("The X", "X, The", "El X").
    title_articles: tuple[str, ...] = ("the", "a", "an", "el", "la", "los", "las", "le", "les")
    # A cluster above review_cluster_size is flagged for review; above max_cluster_size the
    # run fails (sql/dq/content_entities/cluster_within_size_guard.sql): chaining.
    review_cluster_size: int = 8
    max_cluster_size: int = 50
    # Label propagation rounds before the job gives up (a long chain is a symptom too).
    max_iterations: int = 20

    def __post_init__(self) -> None:
        if self.modality not in ENTITY_MODALITIES:
            raise ValueError(f"entities.modality must be one of {ENTITY_MODALITIES}")
        if self.max_block_size < 2 or self.max_iterations < 1:
            raise ValueError("entities.max_block_size must be >= 2, max_iterations >= 1")
        if not 0 <= self.duration_tolerance < 1 or self.max_year_gap < 0:
            raise ValueError("entities.duration_tolerance in [0, 1), max_year_gap >= 0")
        if not 2 <= self.review_cluster_size <= self.max_cluster_size:
            raise ValueError("entities: 2 <= review_cluster_size <= max_cluster_size")


def entity_settings(raw: dict[str, Any] | None) -> EntitySettings:
    raw = dict(raw or {})
    ann = AnnSettings(**(raw.pop("ann", None) or {}))
    rules = MatchRules(**(raw.pop("rules", None) or {}))
    for key in ("title_noise_words", "title_articles"):
        if key in raw:
            raw[key] = tuple(str(word).lower() for word in raw[key])
    return EntitySettings(**raw, ann=ann, rules=rules)
