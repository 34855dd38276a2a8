"""Entity resolution transforms on tiny inline catalogues, with exact expected rows."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from contentlake.entity_settings import EntitySettings, MatchRules
from contentlake.errors import JobFailed
from contentlake.transforms.entity_resolution import (
    blocking_keys,
    candidate_pairs,
    connected_components,
    filter_canonical,
    lsh_band_keys,
    pair_features,
    resolved_entities,
    strongest_match_rule,
    with_canonical_id,
    with_match_decision,
    with_normalised_title,
    with_synopsis_words,
)

DEFAULTS = EntitySettings()
RUN = date(2026, 11, 3)
ITEMS = (
    "content_id string, content_type string, title string, description string, "
    "duration_seconds int, release_date date, series_id string, video_uri string, "
    "embedding array<float>"
)


def normalised(df):
    return df.transform(with_normalised_title, DEFAULTS.title_noise_words, DEFAULTS.title_articles)


def test_titles_normalise_case_punctuation_edition_words_articles_and_numbers(spark):
    titles = [
        ("1", "The Quiet Letter"),
        ("2", "QUIET LETTER, THE"),
        ("3", "The Quiet Letter (Director's Cut) [HD]"),
        ("4", "the_quiet_letter_1080p"),
        ("5", "Rocky II"),
        ("6", "Rocky: Part Two"),
        ("7", "Café & Crème - Episode 3"),
        ("8", "The"),
        ("9", None),
    ]
    result_df = normalised(spark.createDataFrame(titles, "content_id string, title string"))
    expected_df = spark.createDataFrame(
        [
            ("1", "The Quiet Letter", "quiet letter", []),
            ("2", "QUIET LETTER, THE", "quiet letter", []),
            ("3", "The Quiet Letter (Director's Cut) [HD]", "quiet letter", []),
            ("4", "the_quiet_letter_1080p", "quiet letter", []),
            ("5", "Rocky II", "rocky 2", ["2"]),
            ("6", "Rocky: Part Two", "rocky part 2", ["2"]),
            ("7", "Café & Crème - Episode 3", "cafe and creme episode 3", ["3"]),
            ("8", "The", "the", []),
            ("9", None, "", []),
        ],
        "content_id string, title string, norm_title string, title_numbers array<string>",
    )
    assert_df_equality(result_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def items(spark, rows):
    return normalised(spark.createDataFrame(rows, ITEMS)).transform(with_synopsis_words)


def test_blocking_keys_are_the_title_its_longer_words_with_type_and_year_and_the_video(spark):
    items_df = items(
        spark,
        [
            (
                "a",
                "movie",
                "The Quiet Letter",
                "A letter.",
                5000,
                date(2001, 5, 2),
                None,
                "v/a.mp4",
                None,
            ),
            ("b", "clip", "Of Men", "", 60, None, None, None, None),
        ],
    )
    expected_df = spark.createDataFrame(
        [
            ("a", "title", "quiet letter"),
            ("a", "title_word", "movie:2001:quiet"),
            ("a", "title_word", "movie:2001:letter"),
            ("a", "synopsis", hashlib.sha256(b"a letter").hexdigest()),
            ("a", "media", "v/a.mp4"),
            ("b", "title", "of men"),
        ],
        "content_id string, source string, key string",
    )
    assert_df_equality(
        blocking_keys(items_df), expected_df, ignore_row_order=True, ignore_nullable=True
    )


def test_candidates_pair_each_small_block_once_and_skip_blocks_above_the_cap(spark):
    keys_df = spark.createDataFrame(
        [
            ("a", "title", "quiet letter"),
            ("b", "title", "quiet letter"),
            ("a", "ann", "0:17"),
            ("b", "ann", "0:17"),
            ("c", "ann", "1:5"),
            ("d", "ann", "1:5"),
            # a block of three: above a cap of 2, it proposes nothing
            ("a", "media", "poster.png"),
            ("c", "media", "poster.png"),
            ("d", "media", "poster.png"),
            ("e", "title", "alone"),
        ],
        "content_id string, source string, key string",
    )
    expected_df = spark.createDataFrame(
        [("a", "b", ["ann", "title"]), ("c", "d", ["ann"])],
        "left_id string, right_id string, sources array<string>",
    )
    assert_df_equality(
        candidate_pairs(keys_df, max_block_size=2),
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_lsh_bands_agree_for_one_direction_and_differ_for_the_opposite_one(spark):
    vectors_df = spark.createDataFrame(
        [
            ("a", [0.6, 0.8, 0.0]),
            ("b", [0.3, 0.4, 0.0]),  # a's direction: every band equal
            ("c", [-0.6, -0.8, 0.0]),  # opposite: every bit flipped, no band equal
            ("d", None),  # no vector: no band
        ],
        "content_id string, embedding array<float>",
    )
    keys = {}
    for row in lsh_band_keys(vectors_df, bands=3, bits=4, seed=1).collect():
        assert row["source"] == "ann"
        keys.setdefault(row["content_id"], set()).add(row["key"])
    assert sorted(keys) == ["a", "b", "c"]
    assert keys["a"] == keys["b"] and len(keys["a"]) == 3
    assert not keys["a"] & keys["c"]
    assert {key.split(":")[0] for key in keys["a"]} == {"0", "1", "2"}


PAIRS = [
    # one file under two ids, whatever the titles say
    ("a", "b", "movie", "The Quiet Letter", "quiet_letter_1080p", 5000, 5000, 2001, 2001,
     "v.mp4", "v.mp4", None, None, [1.0, 0.0], [0.0, 1.0]),
    # same title after normalisation, a PAL copy (4% shorter), a year-only date
    ("c", "d", "movie", "Harvest", "HARVEST (HD)", 5000, 4800, 2001, 2001,
     None, None, None, None, [1.0, 0.0], [0.0, 1.0]),
    # a typo: close title, close vectors
    ("e", "f", "movie", "The Quiet Letter", "The Quiet Lteter", 5000, 5000, 2001, 2002,
     None, None, None, None, [1.0, 0.0], [0.9, 0.43589]),
    # a translated title: the same synopsis (DESCRIPTIONS) and metadata, other vectors
    ("g", "h", "movie", "The Quiet Letter", "La Carta Callada", 5000, 5000, 2001, 2001,
     None, None, None, None, [1.0, 0.0], [0.5, 0.8660254]),
    # other titles, nearly the same vectors and the same metadata
    ("w", "x", "movie", "Harvest", "Kingdom", 5000, 5000, 2001, 2001,
     None, None, None, None, [1.0, 0.0], [0.98, 0.198997]),
    # a sequel, a trailer, two episodes of two series, a remake
    ("i", "j", "movie", "Rocky", "Rocky II", 5000, 5000, 2001, 2001,
     None, None, None, None, [1.0, 0.0], [1.0, 0.0]),
    ("k", "l", "movie|clip", "Rocky", "Rocky", 5000, 5000, 2001, 2001,
     None, None, None, None, [1.0, 0.0], [1.0, 0.0]),
    ("m", "n", "episode", "Pilot", "Pilot", 1500, 1500, 2001, 2001,
     None, None, "s1", "s2", [1.0, 0.0], [1.0, 0.0]),
    ("o", "p", "movie", "Harvest", "Harvest", 5000, 6000, 1970, 2001,
     None, None, None, None, [1.0, 0.0], [0.0, 1.0]),
    # very close vectors, no rule: review; one title and year, other running time: review
    ("q", "r", "movie", "Harvest", "Kingdom", 5000, 9000, 2001, 2001,
     None, None, None, None, [1.0, 0.0], [0.94, 0.34117]),
    ("s", "t", "movie", "Harvest", "Harvest", 5000, 9000, 2001, 2001,
     None, None, None, None, [1.0, 0.0], [0.0, 1.0]),
    # series: a running time of 0 says nothing, one title and year is worth a look only
    ("y", "z", "series", "Dark Ransom", "Dark Ransom", 0, 0, 2004, 2005,
     None, None, None, None, [1.0, 0.0], [0.0, 1.0]),
    # proposed by the LSH alone and far apart: dropped before scoring
    ("u", "v", "movie", "Harvest", "Kingdom", 5000, 9000, 2001, 2001,
     None, None, None, None, [1.0, 0.0], [0.0, 1.0]),
]  # fmt: skip


DESCRIPTIONS = {"g": "A quiet film about a letter.", "h": "A quiet film about a letter!"}


def scored_pairs(spark):
    item_rows, pair_rows = [], []
    for left, right, kind, lt, rt, ld, rd, ly, ry, lv, rv, ls, rs, le, re in PAIRS:
        left_kind, _, right_kind = kind.partition("|")
        left_text, right_text = DESCRIPTIONS.get(left), DESCRIPTIONS.get(right)
        item_rows.append((left, left_kind, lt, left_text, ld, date(ly, 6, 1), ls, lv, le))
        # the right one's release date is known to the year only
        right_kind = right_kind or left_kind
        item_rows.append((right, right_kind, rt, right_text, rd, date(ry, 1, 1), rs, rv, re))
        pair_rows.append((left, right, ["ann"] if left == "u" else ["title"]))
    pairs_df = spark.createDataFrame(
        pair_rows, "left_id string, right_id string, sources array<string>"
    )
    features_df = pair_features(pairs_df, items(spark, item_rows), min_ann_cosine=0.8)
    return with_match_decision(features_df, MatchRules(), 0.05, 1)


def test_each_pair_is_decided_by_the_first_rule_that_holds(spark):
    result_df = scored_pairs(spark).select(
        "left_id",
        "right_id",
        F.round("title_similarity", 4).alias("title"),
        F.round("synopsis_similarity", 4).alias("synopsis"),
        F.round("cosine", 4).alias("cosine"),
        F.round("duration_gap", 4).alias("duration_gap"),
        "year_gap",
        "same_media",
        "numbers_agree",
        "same_type",
        "different_series",
        "decision",
        "rule",
        "score",
    )
    # fmt: off
    expected_df = spark.createDataFrame(
        [
            ("a", "b", 1.0, 0.0, 0.0, 0.0, 0, True, True, True, False, "match", "same_media",
             1.0),
            ("c", "d", 1.0, 0.0, 0.0, 0.04, 0, False, True, True, False, "match", "same_title",
             0.5),
            ("e", "f", 0.8333, 0.0, 0.9, 0.0, 1, False, True, True, False, "match",
             "similar_title", 0.72),
            ("g", "h", 0.0769, 1.0, 0.5, 0.0, 0, False, True, True, False, "match",
             "same_synopsis", 0.573077),
            ("w", "x", 0.0, 0.0, 0.98, 0.0, 0, False, True, True, False, "match",
             "close_vectors", 0.494),
            ("i", "j", 0.7143, 0.0, 1.0, 0.0, 0, False, False, True, False, "distinct",
             "different_numbers", 0.714286),
            ("k", "l", 1.0, 0.0, 1.0, 0.0, 0, False, True, False, False, "distinct",
             "different_type", 0.8),
            ("m", "n", 1.0, 0.0, 1.0, 0.0, 0, False, True, True, True, "distinct",
             "different_series", 0.8),
            ("o", "p", 1.0, 0.0, 0.0, 0.1667, 31, False, True, True, False, "distinct", "no_rule",
             0.3),
            ("q", "r", 0.0, 0.0, 0.94, 0.4444, 0, False, True, True, False, "review",
             "vectors_only", 0.382),
            ("s", "t", 1.0, 0.0, 0.0, 0.4444, 0, False, True, True, False, "review",
             "other_duration", 0.4),
            ("y", "z", 1.0, 0.0, 0.0, None, 1, False, True, True, False, "review",
             "other_duration", 0.4),
        ],
        "left_id string, right_id string, title double, synopsis double, cosine double, "
        "duration_gap double, "
        "year_gap int, same_media boolean, numbers_agree boolean, same_type boolean, "
        "different_series boolean, decision string, rule string, score double",
    )
    # fmt: on
    assert_df_equality(
        result_df,
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_column_order=False,
    )


def test_components_take_the_smallest_id_reachable(spark):
    edges_df = spark.createDataFrame(
        [("c", "d"), ("b", "c"), ("a", "d"), ("x", "y")], "left_id string, right_id string"
    )
    expected_df = spark.createDataFrame(
        [("a", "a"), ("b", "a"), ("c", "a"), ("d", "a"), ("x", "x"), ("y", "x")],
        "content_id string, component string",
    )
    assert_df_equality(
        connected_components(edges_df, max_iterations=5),
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_a_chain_longer_than_the_rounds_allowed_fails_the_run(spark):
    chain = [(f"n{i}", f"n{i + 1}") for i in range(6)]
    edges_df = spark.createDataFrame(chain, "left_id string, right_id string")
    with pytest.raises(JobFailed, match="did not settle in 2"):
        connected_components(edges_df, max_iterations=2)


ENTITY_COLUMNS = (
    "resolved_date date, content_id string, canonical_id string, content_type string, "
    "cluster_size int, match_rule string, canonical_rule string, review boolean, "
    "review_reason string, max_cluster_size int"
)


def test_entities_keep_the_previous_canonical_split_mixed_types_and_flag_large_clusters(spark):
    items_df = spark.createDataFrame(
        [
            ("c1", "movie"), ("c2", "movie"), ("c3", "movie"),  # c3 was canonical before
            ("c4", "movie"), ("c5", "clip"), ("c6", "movie"),   # mixed: split by type
            ("c7", "movie"), ("c8", "movie"), ("c9", "movie"),  # three: above review size 2
            ("c10", "clip"),                                    # alone
        ],
        "content_id string, content_type string",
    )  # fmt: skip
    components_df = spark.createDataFrame(
        [("c1", "c1"), ("c2", "c1"), ("c3", "c1"), ("c4", "c4"), ("c5", "c4"), ("c6", "c4"),
         ("c7", "c7"), ("c8", "c7"), ("c9", "c7")],
        "content_id string, component string",
    )  # fmt: skip
    rules_df = spark.createDataFrame(
        [("c1", "same_title"), ("c2", "same_media"), ("c3", "same_title"), ("c4", "same_media"),
         ("c5", "same_media"), ("c6", "same_media"), ("c7", "same_title"), ("c8", "same_title"),
         ("c9", "same_title")],
        "content_id string, match_rule string",
    )  # fmt: skip
    previous_df = spark.createDataFrame(
        [("c1", "c3"), ("c2", "c3"), ("c3", "c3"), ("c7", "c7")],
        "content_id string, canonical_id string",
    )
    result_df = resolved_entities(items_df, components_df, rules_df, previous_df, 2, 50, RUN)
    mixed, large = "mixed_content_types", "large_cluster"
    expected_df = spark.createDataFrame(
        [
            (RUN, "c1", "c3", "movie", 3, "same_title", "kept_previous", True, large, 50),
            (RUN, "c2", "c3", "movie", 3, "same_media", "kept_previous", True, large, 50),
            (RUN, "c3", "c3", "movie", 3, "same_title", "kept_previous", True, large, 50),
            (RUN, "c4", "c4", "movie", 2, "same_media", "smallest_id", True, mixed, 50),
            (RUN, "c6", "c4", "movie", 2, "same_media", "smallest_id", True, mixed, 50),
            (RUN, "c5", "c5", "clip", 1, None, "singleton", True, mixed, 50),
            (RUN, "c7", "c7", "movie", 3, "same_title", "kept_previous", True, large, 50),
            (RUN, "c8", "c7", "movie", 3, "same_title", "kept_previous", True, large, 50),
            (RUN, "c9", "c7", "movie", 3, "same_title", "kept_previous", True, large, 50),
            (RUN, "c10", "c10", "clip", 1, None, "singleton", False, None, 50),
        ],
        ENTITY_COLUMNS,
    )
    assert_df_equality(result_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_the_strongest_rule_of_each_id_and_the_canonical_mapping(spark):
    matches_df = spark.createDataFrame(
        [("a", "b", "same_title"), ("b", "c", "same_media"), ("c", "d", "same_synopsis")],
        "left_id string, right_id string, rule string",
    )
    expected_df = spark.createDataFrame(
        [("a", "same_title"), ("b", "same_media"), ("c", "same_media"), ("d", "same_synopsis")],
        "content_id string, match_rule string",
    )
    assert_df_equality(
        strongest_match_rule(matches_df), expected_df, ignore_row_order=True, ignore_nullable=True
    )
    entities_df = spark.createDataFrame(
        [("a", "a"), ("b", "a"), ("c", "c")], "content_id string, canonical_id string"
    )
    rows_df = spark.createDataFrame(
        [("a", 1), ("b", 2), ("c", 3), ("z", 4)], "content_id string, n int"
    )
    assert_df_equality(
        rows_df.transform(with_canonical_id, entities_df),
        spark.createDataFrame(
            [("a", 1, "a"), ("b", 2, "a"), ("c", 3, "c"), ("z", 4, "z")],
            "content_id string, n int, canonical_id string",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        rows_df.transform(filter_canonical, entities_df),
        spark.createDataFrame([("a", 1), ("c", 3), ("z", 4)], "content_id string, n int"),
        ignore_row_order=True,
        ignore_nullable=True,
    )
