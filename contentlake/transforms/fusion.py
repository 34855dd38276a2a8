"""One fused vector per item from its per-modality vectors (jobs/fuse_vectors.py).

Each modality's vector is L2-normalised and scaled by ``sqrt(share)`` (its weight over the
sum of the fused weights), and the blocks are concatenated in ``FUSABLE`` order. Every block
then has norm ``sqrt(share)``, so the fused vector has norm 1 and the dot product of two
fused vectors is exactly the share-weighted mean of their per-modality cosines.

A modality the item lacks (no keyframes yet, too few viewers for a behaviour vector) is
filled, never left as zeros: a zero block would make every cosine of that item smaller in
that modality's share, as if it were unlike everything, and a renormalisation over the
present blocks would instead inflate its other cosines. The block is the L2-normalised mean
vector of the items that have the modality in the item's group: same primary genre, else
same content type, else all items (``group_mean``). The item then reads as a typical member
of its genre for that modality, its other modalities decide among those, and every fused
vector keeps the same scale. ``modalities`` lists the item's own vectors, ``imputed`` the
filled ones. A modality no item has is left out of every vector (the same for all, so no
cosine changes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contentlake.transforms.vectors import l2_normalised, mean_vectors, scaled

# The group levels of the missing-modality rule, most specific first.
GROUP_LEVELS = ("genre", "content_type", "all")


def with_group_keys(items_df: DataFrame) -> DataFrame:
    """(content_id, genre, content_type, all): each item's group at every level; the primary
    genre is the first one listed."""
    return items_df.select(
        "content_id",
        F.try_element_at(F.coalesce("genres", F.array()), F.lit(1)).alias("genre"),
        F.col("content_type"),
        F.lit("*").alias("all"),
    )


def group_means(vectors_df: DataFrame, groups_df: DataFrame) -> DataFrame:
    """(level, group, modality, mean_vector, group_hash) at every level at once: the
    normalised mean of the members' unit vectors and a hash of who the members are and of
    their inputs (order-independent), which a block filled from it records as its input."""
    memberships_df = groups_df.select(
        "content_id",
        F.explode(
            F.array(
                *[
                    F.struct(F.lit(level).alias("level"), F.col(level).alias("group"))
                    for level in GROUP_LEVELS
                ]
            )
        ).alias("membership"),
    ).select("content_id", "membership.level", "membership.group")
    members_df = vectors_df.join(
        memberships_df.filter(F.col("group").isNotNull()), on="content_id", how="inner"
    )
    keys = ["level", "group", "modality"]
    means_df = mean_vectors(members_df, keys, "unit", "mean")
    hashes_df = members_df.groupBy(*keys).agg(
        F.sum(F.xxhash64("content_id", "input_hash").cast("decimal(38,0)")).alias("checksum")
    )
    return means_df.join(hashes_df, on=keys, how="inner").select(
        *keys,
        l2_normalised(F.col("mean")).alias("mean_vector"),
        F.sha2(F.concat_ws(":", *keys, "members", "checksum"), 256).alias("group_hash"),
    )


def fuse_modalities(
    vectors_df: DataFrame, items_df: DataFrame, shares: Mapping[str, float]
) -> DataFrame:
    """(content_id, embedding, modalities, imputed, input_hash) for every item that has at
    least one of the ``shares`` modalities.

    ``vectors_df``: (content_id, modality, input_hash, embedding), one model version per
    modality, and at least one vector of each modality in ``shares`` (a modality no item
    has is no block: leave it out of ``shares``); ``items_df``: (content_id, genres,
    content_type) for the group fallbacks. ``input_hash`` covers, per modality, the item's
    own input hash or the group the block was filled from, so an unchanged item keeps its
    hash.
    """
    order = [m for m in shares if shares[m] > 0]
    unit_df = vectors_df.filter(F.col("modality").isin(order)).select(
        "content_id", "modality", "input_hash", l2_normalised(F.col("embedding")).alias("unit")
    )
    groups_df = with_group_keys(items_df)
    own_df = (
        unit_df.groupBy("content_id")
        .pivot("modality", order)
        .agg(F.first(F.struct("unit", "input_hash")))
    )
    # Few rows (groups x levels): broadcast to each level's join.
    levels_df = F.broadcast(
        group_means(unit_df, groups_df)
        .groupBy("level", "group")
        .pivot("modality", order)
        .agg(F.first(F.struct(F.col("mean_vector").alias("unit"), "group_hash")))
    )
    fused_df = own_df.join(groups_df, on="content_id", how="left")
    for level in GROUP_LEVELS:
        renamed = [F.col(m).alias(f"{level}__{m}") for m in order]
        level_df = levels_df.filter(F.col("level") == level).select(
            F.col("group").alias(level), *renamed
        )
        fused_df = fused_df.join(level_df, on=level, how="left")
    return fused_df.select(
        "content_id",
        F.concat(*[_block(m, shares[m]) for m in order]).alias("embedding"),
        _names([F.when(F.col(m).isNotNull(), F.lit(m)) for m in order]).alias("modalities"),
        _names([F.when(F.col(m).isNull(), F.lit(m)) for m in order]).alias("imputed"),
        F.sha2(F.concat_ws("|", *[_input_of(m) for m in order]), 256).alias("input_hash"),
    )


def _filled_unit(modality: str) -> Column:
    """The item's own unit vector of ``modality``, else its group's mean at the first level
    that has one."""
    levels = [F.col(f"{level}__{modality}")["unit"] for level in GROUP_LEVELS]
    return F.coalesce(F.col(modality)["unit"], *levels)


def _block(modality: str, share: float) -> Column:
    return scaled(_filled_unit(modality), math.sqrt(share))


def _input_of(modality: str) -> Column:
    """``<modality>:<input hash>`` for an own vector, ``<modality>~<group hash>`` for a
    filled one."""
    own = F.concat(F.lit(f"{modality}:"), F.col(modality)["input_hash"])
    levels = [F.col(f"{level}__{modality}")["group_hash"] for level in GROUP_LEVELS]
    filled = F.concat(F.lit(f"{modality}~"), F.coalesce(*levels))
    return F.coalesce(own, filled)


def _names(candidates: Sequence[Column]) -> Column:
    return F.filter(F.array(*candidates), lambda name: name.isNotNull())


def with_fused_provenance(
    fused_df: DataFrame, versions: Mapping[str, str], shares: Mapping[str, float]
) -> DataFrame:
    """``modality_versions`` and ``weights`` maps: which model made each block."""
    version_map = F.create_map(*[x for m, v in versions.items() for x in (F.lit(m), F.lit(v))])
    share_map = F.create_map(*[x for m, s in shares.items() for x in (F.lit(m), F.lit(s))])
    return fused_df.withColumn("modality_versions", version_map).withColumn("weights", share_map)
