"""Entity resolution of the catalogue: candidate pairs, their features, rule decisions,
clusters and canonical ids (docs/entities.md).

The stages, each a DataFrame -> DataFrame function::

    items_df (content + vector)
      .transform(with_normalised_title, noise_words, articles)   norm_title, title_numbers
      .transform(with_synopsis_words)                            synopsis_words
    blocking_keys(items_df) + lsh_band_keys(items_df)            (content_id, source, key)
    candidate_pairs(keys_df, max_block_size)                     (left_id, right_id, sources)
    pair_features(pairs_df, items_df, ...)                       one row of evidence per pair
    with_match_decision(features_df, ...)                        decision, rule, score
    connected_components(match edges)                            (content_id, component)
    resolved_entities(items_df, components_df, previous_df, ...) content_id -> canonical_id

Candidates come from blocking keys (the normalised title; each longer title word with the
type and release year; the synopsis; the video URI) and from random-hyperplane LSH bands of
the vectors.
A key shared by more than ``max_block_size`` items proposes nothing, so the pairs grow with
the catalogue (items times the block size), never with its square.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.ml.feature import BucketedRandomProjectionLSH
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from contentlake.entity_settings import MatchRules
from contentlake.errors import JobFailed

# The rules that accept a pair, strongest evidence first: a content_id's match_rule is the
# first of these among its accepted pairs.
MATCH_RULES = ("same_media", "same_title", "similar_title", "same_synopsis", "close_vectors")
REVIEW_RULES = ("vectors_only", "other_duration")
DECISIONS = ("match", "review", "distinct")
# Candidate sources (the kind of key that proposed a pair).
SOURCES = ("title", "title_word", "synopsis", "media", "ann")

_ACCENTED = "áàâäãåéèêëíìîïóòôöõúùûüñçýÿ"
_PLAIN = "aaaaaaeeeeiiiiooooouuuuncyy"
# Numbers spelled out in titles, read as digits so that "Part II" and "Part 2" agree.
_NUMBER_WORDS = {
    **{roman: str(i) for i, roman in enumerate(["ii", "iii", "iv", "v", "vi", "vii", "viii",
                                                "ix", "x"], start=2)},
    **{word: str(i) for i, word in enumerate(["two", "three", "four", "five", "six", "seven",
                                              "eight", "nine", "ten"], start=2)},
}  # fmt: skip
# A title word shorter than this is no blocking key ("of", "the", "man").
_MIN_KEY_WORD = 4
# Above any projection of a unit vector: the LSH hash is then the projection's sign.
_SIGN_BUCKET = 1.0e9


# ---------------------------------------------------------------------------------------------
# Titles


def with_normalised_title(
    items_df: DataFrame, noise_words: Sequence[str], articles: Sequence[str]
) -> DataFrame:
    """``norm_title``: lower case, accents and punctuation gone, edition words
    (``noise_words``) and a leading or trailing article dropped, numbers as digits;
    ``title_numbers``: its numbers, sorted and distinct (a sequel's, an episode's)."""
    numbers = F.create_map(*[F.lit(x) for pair in _NUMBER_WORDS.items() for x in pair])
    noise = (
        F.array(*[F.lit(w) for w in noise_words])
        if noise_words
        else F.array().cast("array<string>")
    )
    article_list = (
        F.array(*[F.lit(w) for w in articles]) if articles else F.array().cast("array<string>")
    )
    text = F.translate(F.lower(F.coalesce("title", F.lit(""))), _ACCENTED, _PLAIN)
    text = F.regexp_replace(F.regexp_replace(text, "'", ""), "&", " and ")
    text = F.trim(F.regexp_replace(text, "[^a-z0-9]+", " "))
    words = F.filter(F.split(text, " "), lambda w: (w != "") & ~F.array_contains(noise, w))
    words = F.transform(words, lambda w: F.coalesce(F.try_element_at(numbers, w), w))
    # "The X" and "X, The" (the comma is gone by now) are one title; a lone article stays.
    words = F.when(
        (F.size(words) > 1) & F.array_contains(article_list, F.element_at(words, 1)),
        F.slice(words, 2, 1_000),
    ).otherwise(words)
    words = F.when(
        (F.size(words) > 1) & F.array_contains(article_list, F.element_at(words, -1)),
        F.slice(words, 1, F.size(words) - 1),
    ).otherwise(words)
    return items_df.withColumn("_words", words).select(
        *items_df.columns,
        F.array_join("_words", " ").alias("norm_title"),
        F.array_sort(F.array_distinct(F.filter("_words", lambda w: w.rlike("^[0-9]+$")))).alias(
            "title_numbers"
        ),
    )


def with_synopsis_words(items_df: DataFrame) -> DataFrame:
    """``synopsis_words``: the description's distinct words, lower case, accents gone."""
    text = F.translate(F.lower(F.coalesce("description", F.lit(""))), _ACCENTED, _PLAIN)
    words = F.split(F.trim(F.regexp_replace(text, "[^a-z0-9]+", " ")), " ")
    return items_df.withColumn(
        "synopsis_words", F.array_sort(F.array_distinct(F.filter(words, lambda w: w != "")))
    )


def word_overlap(left: Column, right: Column) -> Column:
    """Jaccard similarity of two word sets (0 when both are empty)."""
    union = F.size(F.array_union(left, right))
    return F.when(union > 0, F.size(F.array_intersect(left, right)) / union).otherwise(F.lit(0.0))


def title_similarity(left: Column, right: Column) -> Column:
    """1 - Levenshtein distance / the longer length, on normalised titles (0 when empty)."""
    longest = F.greatest(F.length(left), F.length(right))
    return F.when(longest > 0, 1 - F.levenshtein(left, right) / longest).otherwise(F.lit(0.0))


# ---------------------------------------------------------------------------------------------
# Candidates


def blocking_keys(items_df: DataFrame) -> DataFrame:
    """(content_id, source, key): the cheap keys of each item (``norm_title`` needed)."""
    year = F.year("release_date").cast("string")
    words = F.filter(
        F.array_distinct(F.split("norm_title", " ")),
        lambda w: (F.length(w) >= _MIN_KEY_WORD) & ~w.rlike("^[0-9]+$"),
    )
    title_df = items_df.filter(F.col("norm_title") != "").select(
        "content_id", F.lit("title").alias("source"), F.col("norm_title").alias("key")
    )
    word_df = items_df.filter(F.col("release_date").isNotNull()).select(
        "content_id",
        F.lit("title_word").alias("source"),
        F.explode(
            F.transform(words, lambda w: F.concat_ws(":", F.col("content_type"), year, w))
        ).alias("key"),
    )
    # The same synopsis, word for word (a regional feed reusing it); boilerplate ones
    # ("No description available") are shared by many and dropped by the block cap.
    synopsis_df = items_df.filter(F.size("synopsis_words") > 0).select(
        "content_id",
        F.lit("synopsis").alias("source"),
        F.sha2(F.array_join("synopsis_words", " "), 256).alias("key"),
    )
    media_df = items_df.filter(F.col("video_uri").isNotNull()).select(
        "content_id", F.lit("media").alias("source"), F.col("video_uri").alias("key")
    )
    return title_df.unionByName(word_df).unionByName(synopsis_df).unionByName(media_df)


def lsh_band_keys(vectors_df: DataFrame, bands: int, bits: int, seed: int) -> DataFrame:
    """(content_id, source 'ann', key): random-hyperplane LSH (SimHash) of ``embedding``.

    Spark ML's BucketedRandomProjectionLSH hashes a vector to floor(v.r / bucket) for each
    random unit vector r; with a bucket far beyond any projection of a unit vector that is
    0 or -1, the sign of v.r: one SimHash bit, computed in the JVM. ``bands`` keys of
    ``bits`` bits each: two vectors at cosine c share a band with probability
    (1 - acos(c)/pi)^bits.
    """
    features_df = vectors_df.filter(F.col("embedding").isNotNull()).select(
        "content_id", array_to_vector("embedding").alias("features")
    )
    if features_df.isEmpty():  # no vectors yet (the LSH needs one for their dimension)
        return vectors_df.sparkSession.createDataFrame(
            [], "content_id string, source string, key string"
        )
    lsh = BucketedRandomProjectionLSH(
        inputCol="features",
        outputCol="hashes",
        bucketLength=_SIGN_BUCKET,
        numHashTables=bands * bits,
        seed=seed,
    )
    hashed_df = lsh.fit(features_df).transform(features_df)
    # posexplode_outer: a plain posexplode lets Spark infer a filter on the hashes that it
    # pushes below the isNotNull above and, in plans run without whole-stage codegen,
    # evaluates first, hashing the null vectors (the hashes are never null here).
    bits_df = hashed_df.select("content_id", F.posexplode_outer("hashes").alias("position", "hash"))
    signed = vector_to_array(F.col("hash")).getItem(0) >= 0
    band = (F.col("position") / bits).cast("int")
    bit = F.expr(f"shiftleft(cast(1 as bigint), cast(position % {int(bits)} as int))")
    return (
        bits_df.groupBy("content_id", band.alias("band"))
        .agg(F.sum(F.when(signed, bit).otherwise(F.lit(0).cast("long"))).alias("signature"))
        .select(
            "content_id",
            F.lit("ann").alias("source"),
            F.concat_ws(":", F.col("band").cast("string"), F.col("signature").cast("string")).alias(
                "key"
            ),
        )
    )


def filter_small_blocks(keys_df: DataFrame, max_block_size: int) -> DataFrame:
    """Keys shared by 2 .. ``max_block_size`` items: a bigger block is a placeholder or a
    word everyone uses and would cost its square in pairs; a key of one item pairs nothing."""
    sizes = Window.partitionBy("source", "key")
    sized_df = keys_df.withColumn("_block", F.count("*").over(sizes))
    return sized_df.filter(F.col("_block").between(2, max_block_size)).drop("_block")


def candidate_pairs(keys_df: DataFrame, max_block_size: int) -> DataFrame:
    """(left_id, right_id, sources): each pair of items sharing a small block, smaller id
    left, once, with the kinds of key that proposed it."""
    blocks_df = filter_small_blocks(keys_df.distinct(), max_block_size)
    left_df = blocks_df.select(F.col("content_id").alias("left_id"), "source", "key")
    right_df = blocks_df.select(F.col("content_id").alias("right_id"), "source", "key")
    return (
        left_df.join(right_df, on=["source", "key"], how="inner")
        .filter(F.col("left_id") < F.col("right_id"))
        .groupBy("left_id", "right_id")
        .agg(F.array_sort(F.collect_set("source")).alias("sources"))
    )


# ---------------------------------------------------------------------------------------------
# Features and decisions

PAIR_FEATURES = (
    "title_similarity",
    "synopsis_similarity",
    "cosine",
    "duration_gap",
    "year_gap",
    "same_media",
    "numbers_agree",
    "same_type",
    "different_series",
)
_ITEM_FEATURE_COLUMNS = (
    "content_id",
    "content_type",
    "norm_title",
    "title_numbers",
    "synopsis_words",
    "duration_seconds",
    "release_date",
    "series_id",
    "video_uri",
    "embedding",
)


def cosine(left: Column, right: Column) -> Column:
    """Dot product of two L2-normalised vectors; null when either is missing or their
    dimensions differ."""
    dot = F.aggregate(
        F.zip_with(left, right, lambda x, y: x.cast("double") * y.cast("double")),
        F.lit(0.0),
        lambda acc, value: acc + value,
    )
    return F.when(F.size(left) == F.size(right), dot)


def pair_features(pairs_df: DataFrame, items_df: DataFrame, min_ann_cosine: float) -> DataFrame:
    """Every candidate pair with its evidence. A pair proposed by the LSH alone and below
    ``min_ann_cosine`` is dropped here: the bands only approximate the cosine threshold."""
    item_df = items_df.select(*_ITEM_FEATURE_COLUMNS)
    left_df = item_df.select(*[F.col(c).alias(f"l_{c}") for c in _ITEM_FEATURE_COLUMNS])
    right_df = item_df.select(*[F.col(c).alias(f"r_{c}") for c in _ITEM_FEATURE_COLUMNS])
    joined_df = pairs_df.join(left_df, F.col("left_id") == F.col("l_content_id"), how="inner").join(
        right_df, F.col("right_id") == F.col("r_content_id"), how="inner"
    )
    longer = F.greatest("l_duration_seconds", "r_duration_seconds")
    features_df = joined_df.select(
        "left_id",
        "right_id",
        "sources",
        title_similarity(F.col("l_norm_title"), F.col("r_norm_title")).alias("title_similarity"),
        word_overlap(F.col("l_synopsis_words"), F.col("r_synopsis_words")).alias(
            "synopsis_similarity"
        ),
        cosine(F.col("l_embedding"), F.col("r_embedding")).alias("cosine"),
        F.when(
            longer > 0, F.abs(F.col("l_duration_seconds") - F.col("r_duration_seconds")) / longer
        ).alias("duration_gap"),
        F.abs(F.year("l_release_date") - F.year("r_release_date")).alias("year_gap"),
        F.coalesce(F.col("l_video_uri") == F.col("r_video_uri"), F.lit(False)).alias("same_media"),
        (F.col("l_title_numbers") == F.col("r_title_numbers")).alias("numbers_agree"),
        (F.col("l_content_type") == F.col("r_content_type")).alias("same_type"),
        F.coalesce(F.col("l_series_id") != F.col("r_series_id"), F.lit(False)).alias(
            "different_series"
        ),
    )
    ann_only = F.col("sources") == F.array(F.lit("ann"))
    return features_df.filter(~ann_only | (F.coalesce("cosine", F.lit(-1.0)) >= min_ann_cosine))


def with_match_decision(
    features_df: DataFrame, rules: MatchRules, duration_tolerance: float, max_year_gap: int
) -> DataFrame:
    """``decision`` (match, review or distinct), the ``rule`` that made it and ``score``.

    The same file under two ids is one work whatever its metadata says (``same_media``).
    Otherwise a pair is distinct when its titles carry other numbers, its types differ or
    it belongs to two series. Then the first rule that holds accepts it, each needing
    running times and release years that agree (a running time of 0, a series, says
    nothing): ``same_title``; ``similar_title`` (with a close synopsis or close vectors);
    ``same_synopsis`` (a translated title, all else the same); ``close_vectors``. A pair
    failing all of them but close by vector (``vectors_only``), or with one title and year
    but other running times (``other_duration``), is kept for review, not merged.
    ``score`` (0..1) orders such a queue: 0.3 title + 0.2 synopsis + 0.3 cosine + 0.1 each
    for agreeing durations and years; 1 for one file.
    """
    cos = F.coalesce(F.col("cosine"), F.lit(-1.0))
    title = F.col("title_similarity")
    synopsis = F.col("synopsis_similarity")
    durations_agree = F.coalesce(F.col("duration_gap") <= duration_tolerance, F.lit(False))
    years_agree = F.coalesce(F.col("year_gap") <= max_year_gap, F.lit(False))
    metadata_agree = durations_agree & years_agree
    similar_text = (synopsis >= rules.same_synopsis_similarity) | (
        cos >= rules.similar_title_cosine
    )
    rule = (
        F.when(F.col("same_media"), F.lit("same_media"))
        .when(~F.col("same_type"), F.lit("different_type"))
        .when(~F.col("numbers_agree"), F.lit("different_numbers"))
        .when(F.col("different_series"), F.lit("different_series"))
        .when((title >= rules.same_title_similarity) & metadata_agree, F.lit("same_title"))
        .when(
            (title >= rules.similar_title_similarity) & similar_text & metadata_agree,
            F.lit("similar_title"),
        )
        .when((synopsis >= rules.same_synopsis_similarity) & metadata_agree, F.lit("same_synopsis"))
        .when((cos >= rules.close_vectors_cosine) & metadata_agree, F.lit("close_vectors"))
        .when(cos >= rules.review_cosine, F.lit("vectors_only"))
        .when((title >= rules.same_title_similarity) & years_agree, F.lit("other_duration"))
        .otherwise(F.lit("no_rule"))
    )
    decision = (
        F.when(F.col("rule").isin(*MATCH_RULES), F.lit("match"))
        .when(F.col("rule").isin(*REVIEW_RULES), F.lit("review"))
        .otherwise(F.lit("distinct"))
    )
    evidence = (
        0.3 * title
        + 0.2 * synopsis
        + 0.3 * F.greatest(cos, F.lit(0.0))
        + 0.1 * durations_agree.cast("double")
        + 0.1 * years_agree.cast("double")
    )
    score = F.when(F.col("same_media"), F.lit(1.0)).otherwise(F.round(evidence, 6))
    return (
        features_df.withColumn("rule", rule)
        .withColumn("decision", decision)
        .withColumn("score", score)
    )


# ---------------------------------------------------------------------------------------------
# Clusters


def connected_components(edges_df: DataFrame, max_iterations: int) -> DataFrame:
    """(content_id, component): the smallest id reachable over ``edges_df`` (left_id,
    right_id), by label propagation: each round every id takes the smallest label among
    itself and its neighbours, until no label changes (rounds ~ the longest path).

    Each round is checkpointed locally, so the plan stays one round deep. Raises
    :class:`JobFailed` after ``max_iterations`` rounds: a chain that long is itself a sign
    of bad matches.
    """
    spark = edges_df.sparkSession
    both_df = (
        edges_df.select(F.col("left_id").alias("src"), F.col("right_id").alias("dst"))
        .unionByName(edges_df.select(F.col("right_id").alias("src"), F.col("left_id").alias("dst")))
        .distinct()
        .localCheckpoint()
    )
    labels_df = (
        both_df.select(F.col("src").alias("content_id"))
        .distinct()
        .withColumn("component", F.col("content_id"))
    )
    if both_df.isEmpty():
        return spark.createDataFrame([], "content_id string, component string")
    for _ in range(max_iterations):
        proposed_df = (
            both_df.join(labels_df, both_df["src"] == labels_df["content_id"], how="inner")
            .groupBy(F.col("dst").alias("content_id"))
            .agg(F.min("component").alias("proposed"))
        )
        next_df = (
            labels_df.join(proposed_df, on="content_id", how="left")
            .select(
                "content_id",
                F.least("component", F.coalesce("proposed", "component")).alias("component"),
                (F.coalesce(F.col("proposed"), F.col("component")) < F.col("component")).alias(
                    "changed"
                ),
            )
            .localCheckpoint()
        )
        labels_df = next_df.drop("changed")
        if next_df.filter("changed").isEmpty():
            return labels_df
    raise JobFailed(
        f"entity clusters did not settle in {max_iterations} label propagation rounds: "
        "a chain of matches that long suggests thresholds that are too loose"
    )


def resolved_entities(
    items_df: DataFrame,
    components_df: DataFrame,
    match_rules_df: DataFrame,
    previous_df: DataFrame,
    review_cluster_size: int,
    max_cluster_size: int,
    resolved_date: date,
) -> DataFrame:
    """Every item with its ``canonical_id`` and why.

    ``components_df`` (content_id, component) covers the matched items; any other item is
    its own entity. A component that mixes content types is split by type and flagged for
    review (``mixed_content_types``); one larger than ``review_cluster_size`` is flagged
    (``large_cluster``). The canonical id: among the members that were canonical in
    ``previous_df`` (content_id, canonical_id of the last earlier run), the smallest
    (``kept_previous``), so an unchanged cluster, or one that gained new ids, keeps its
    id; else the smallest member id (``smallest_id``); ``singleton`` alone.
    ``match_rules_df`` (content_id, match_rule) names each matched id's strongest rule.
    """
    previous_canonical_df = previous_df.filter(F.col("content_id") == F.col("canonical_id")).select(
        "content_id", F.lit(True).alias("was_canonical")
    )
    joined_df = (
        items_df.select("content_id", "content_type")
        .join(components_df, on="content_id", how="left")
        .join(previous_canonical_df, on="content_id", how="left")
        .join(match_rules_df, on="content_id", how="left")
    )
    by_component = Window.partitionBy("component")
    mixed = F.size(F.collect_set("content_type").over(by_component)) > 1
    cluster_df = (
        joined_df.withColumn("component", F.coalesce("component", "content_id"))
        .withColumn(
            "cluster",
            F.when(mixed, F.concat_ws(":", "component", "content_type")).otherwise(
                F.col("component")
            ),
        )
        .withColumn("mixed", mixed)
    )
    by_cluster = Window.partitionBy("cluster")
    kept = F.min(F.when(F.col("was_canonical"), F.col("content_id"))).over(by_cluster)
    size = F.count("*").over(by_cluster)
    canonical_df = cluster_df.select(
        "*",
        size.alias("cluster_size"),
        kept.alias("kept"),
        F.min("content_id").over(by_cluster).alias("smallest"),
    )
    review_reason = F.when(F.col("mixed"), F.lit("mixed_content_types")).when(
        F.col("cluster_size") > review_cluster_size, F.lit("large_cluster")
    )
    return canonical_df.select(
        F.lit(resolved_date).alias("resolved_date"),
        "content_id",
        F.coalesce("kept", "smallest").alias("canonical_id"),
        "content_type",
        F.col("cluster_size").cast("int").alias("cluster_size"),
        F.when(F.col("cluster_size") > 1, F.col("match_rule")).alias("match_rule"),
        F.when(F.col("cluster_size") == 1, F.lit("singleton"))
        .when(F.col("kept").isNotNull(), F.lit("kept_previous"))
        .otherwise(F.lit("smallest_id"))
        .alias("canonical_rule"),
        review_reason.isNotNull().alias("review"),
        review_reason.alias("review_reason"),
        F.lit(max_cluster_size).cast("int").alias("max_cluster_size"),
    )


def strongest_match_rule(matches_df: DataFrame) -> DataFrame:
    """(content_id, match_rule): the first of ``MATCH_RULES`` among each id's matches."""
    order = F.array_position(F.array(*[F.lit(r) for r in MATCH_RULES]), F.col("rule"))
    ends_df = matches_df.select(F.col("left_id").alias("content_id"), "rule").unionByName(
        matches_df.select(F.col("right_id").alias("content_id"), "rule")
    )
    return ends_df.groupBy("content_id").agg(F.min_by("rule", order).alias("match_rule"))


def with_canonical_id(df: DataFrame, entities_df: DataFrame) -> DataFrame:
    """``df`` (with content_id) plus ``canonical_id`` (its own id where no entity is known)."""
    mapping_df = entities_df.select("content_id", "canonical_id")
    return df.join(mapping_df, on="content_id", how="left").withColumn(
        "canonical_id", F.coalesce("canonical_id", "content_id")
    )


def filter_canonical(df: DataFrame, entities_df: DataFrame) -> DataFrame:
    """Rows of ``df`` whose content_id is canonical (or unknown to ``entities_df``): one
    per entity."""
    duplicates_df = entities_df.filter(F.col("content_id") != F.col("canonical_id")).select(
        "content_id"
    )
    return df.join(duplicates_df, on="content_id", how="left_anti")
