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

from contentlake.transforms.vectors import l2_normalised, mean_vectors, scaled, squared_norm

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


def _memberships(groups_df: DataFrame) -> DataFrame:
    """(content_id, level, group): one row per item and level it has a group at."""
    return (
        groups_df.select(
            "content_id",
            F.explode(
                F.array(
                    *[
                        F.struct(F.lit(level).alias("level"), F.col(level).alias("group"))
                        for level in GROUP_LEVELS
                    ]
                )
            ).alias("membership"),
        )
        .select("content_id", "membership.level", "membership.group")
        .filter(F.col("group").isNotNull())
    )


def group_hashes(keys_df: DataFrame, groups_df: DataFrame) -> DataFrame:
    """(level, group, modality, group_hash) at every level at once: a hash of who the
    members having the modality are and of their inputs (order-independent), which a block
    filled from the group records as its input. Needs no vector, so it is cheap."""
    members_df = keys_df.join(_memberships(groups_df), on="content_id", how="inner")
    keys = ["level", "group", "modality"]
    return (
        members_df.groupBy(*keys)
        .agg(
            F.count("*").alias("members"),
            F.sum(F.xxhash64("content_id", "input_hash").cast("decimal(38,0)")).alias("checksum"),
        )
        .select(
            *keys, F.sha2(F.concat_ws(":", *keys, "members", "checksum"), 256).alias("group_hash")
        )
    )


def group_means(unit_df: DataFrame, groups_df: DataFrame, wanted_df: DataFrame) -> DataFrame:
    """(level, group, modality, mean_vector): the normalised mean of the members' unit
    vectors, for the (level, group, modality) rows of ``wanted_df`` only: averaging is the
    costly part (every element of every member's vector), and a run only needs the groups
    its pending items are filled from."""
    keys = ["level", "group", "modality"]
    members_df = unit_df.join(_memberships(groups_df), on="content_id", how="inner").join(
        F.broadcast(wanted_df.select(*keys).distinct()), on=keys, how="inner"
    )
    return mean_vectors(members_df, keys, "unit", "mean").select(
        *keys, l2_normalised(F.col("mean")).alias("mean_vector")
    )


def fused_inputs(keys_df: DataFrame, items_df: DataFrame, shares: Mapping[str, float]) -> DataFrame:
    """(content_id, modalities, imputed, input_hash, fill_<modality>...) for every item that
    has at least one of the ``shares`` modalities, from (content_id, modality, input_hash)
    (and ``embedding`` when given, only to skip all-zero vectors): which blocks are the
    item's own, and for a missing one the group it is filled from (``fill_<modality>``:
    struct of level and group, null for an own block).

    ``input_hash`` covers, per modality, the item's own input hash or the hash of the group
    the block is filled from, so an unchanged item keeps its hash and a run can tell which
    items to fuse before it touches a vector.
    """
    order = _order(shares)
    keys_df = keys_df.filter(F.col("modality").isin(order))
    if "embedding" in keys_df.columns:
        # An all-zero vector has no direction: the item lacks that modality.
        keys_df = keys_df.filter(squared_norm(F.col("embedding")) > 0)
    keys_df = keys_df.select("content_id", "modality", "input_hash")
    groups_df = with_group_keys(items_df)
    own_df = keys_df.groupBy("content_id").pivot("modality", order).agg(F.first("input_hash"))
    # Few rows (groups x levels): broadcast to each level's join.
    levels_df = F.broadcast(
        group_hashes(keys_df, groups_df)
        .groupBy("level", "group")
        .pivot("modality", order)
        .agg(F.first("group_hash"))
    )
    inputs_df = own_df.join(groups_df, on="content_id", how="left")
    for level in GROUP_LEVELS:
        renamed = [F.col(m).alias(f"{level}__{m}") for m in order]
        level_df = levels_df.filter(F.col("level") == level).select(
            F.col("group").alias(level), *renamed
        )
        inputs_df = inputs_df.join(level_df, on=level, how="left")
    return inputs_df.select(
        "content_id",
        _names([F.when(F.col(m).isNotNull(), F.lit(m)) for m in order]).alias("modalities"),
        _names([F.when(F.col(m).isNull(), F.lit(m)) for m in order]).alias("imputed"),
        F.sha2(F.concat_ws("|", *[_input_of(m) for m in order]), 256).alias("input_hash"),
        *[_fill_of(m).alias(f"fill_{m}") for m in order],
    )


def fused_embeddings(
    vectors_df: DataFrame,
    items_df: DataFrame,
    inputs_df: DataFrame,
    shares: Mapping[str, float],
) -> DataFrame:
    """``inputs_df`` (from :func:`fused_inputs`, possibly only the items to fuse) with
    ``embedding``: each block the item's own unit vector, or the normalised mean of its
    fill group's unit vectors, scaled by ``sqrt(share)``, concatenated."""
    order = _order(shares)
    wanted_df = inputs_df.select("content_id")
    unit_df = vectors_df.filter(F.col("modality").isin(order)).select(
        "content_id", "modality", l2_normalised(F.col("embedding")).alias("unit")
    )
    own_df = (
        unit_df.join(wanted_df, on="content_id", how="inner")
        .groupBy("content_id")
        .pivot("modality", order)
        .agg(F.first("unit"))
    )
    fills_df = (
        inputs_df.select(
            F.explode(
                F.array(
                    *[
                        F.struct(F.lit(m).alias("modality"), F.col(f"fill_{m}").alias("fill"))
                        for m in order
                    ]
                )
            ).alias("f")
        )
        .select("f.modality", "f.fill.level", "f.fill.group")
        .filter(F.col("level").isNotNull())
    )
    means_df = F.broadcast(group_means(unit_df, with_group_keys(items_df), fills_df))
    fused_df = inputs_df.join(own_df, on="content_id", how="left")
    for m in order:
        mean_df = means_df.filter(F.col("modality") == m).select(
            F.col("level").alias(f"level__{m}"),
            F.col("group").alias(f"group__{m}"),
            F.col("mean_vector").alias(f"mean__{m}"),
        )
        fill = F.col(f"fill_{m}")
        fused_df = fused_df.join(
            mean_df,
            on=(fill["level"] == F.col(f"level__{m}")) & (fill["group"] == F.col(f"group__{m}")),
            how="left",
        )
    blocks = [
        scaled(F.coalesce(F.col(m), F.col(f"mean__{m}")), math.sqrt(shares[m])) for m in order
    ]
    return fused_df.select(*inputs_df.columns, F.concat(*blocks).alias("embedding"))


def fuse_modalities(
    vectors_df: DataFrame, items_df: DataFrame, shares: Mapping[str, float]
) -> DataFrame:
    """(content_id, embedding, modalities, imputed, input_hash) for every item that has at
    least one of the ``shares`` modalities.

    ``vectors_df``: (content_id, modality, input_hash, embedding), one model version per
    modality, and at least one vector of each modality in ``shares`` (a modality no item
    has is no block: leave it out of ``shares``); ``items_df``: (content_id, genres,
    content_type) for the group fallbacks. :func:`fused_inputs` then
    :func:`fused_embeddings` of every item; a job that fuses only changed items calls the
    two itself.
    """
    inputs_df = fused_inputs(vectors_df, items_df, shares)
    return fused_embeddings(vectors_df, items_df, inputs_df, shares).select(
        "content_id", "embedding", "modalities", "imputed", "input_hash"
    )


def _order(shares: Mapping[str, float]) -> list[str]:
    return [m for m in shares if shares[m] > 0]


def _fill_of(modality: str) -> Column:
    """(level, group) of the first level whose group has ``modality``, for an item that
    lacks it; null for an item with its own vector."""
    fill = F.lit(None).cast("struct<level:string,group:string>")
    for level in reversed(GROUP_LEVELS):
        found = F.struct(F.lit(level).alias("level"), F.col(level).alias("group"))
        fill = F.when(F.col(f"{level}__{modality}").isNotNull(), found).otherwise(fill)
    return F.when(F.col(modality).isNull(), fill)


def _input_of(modality: str) -> Column:
    """``<modality>:<input hash>`` for an own vector, ``<modality>~<group hash>`` for a
    filled one."""
    own = F.concat(F.lit(f"{modality}:"), F.col(modality))
    levels = [F.col(f"{level}__{modality}") for level in GROUP_LEVELS]
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
