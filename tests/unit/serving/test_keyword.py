"""BM25 over titles and descriptions: bm25s's Lucene variant, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from contentlake.serving.keyword import KeywordIndex, tokenize

TEXTS = ["Night train to Lisbon", "A quiet night, a night sky", "Cooking with fire"]


def test_tokenize_lowercases_and_drops_stopwords_and_single_letters():
    assert tokenize("A quiet Night, a night sky") == ["quiet", "night", "night", "sky"]


def test_scores_follow_lucene_bm25():
    # N = 3 documents of 3, 4 and 2 tokens (avgdl 3); "night" is in two of them.
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    expected = [
        idf * 1 / (1 + 1.5 * (0.25 + 0.75 * 3 / 3)),
        idf * 2 / (2 + 1.5 * (0.25 + 0.75 * 4 / 3)),
        0.0,
    ]
    index = KeywordIndex(TEXTS)
    assert index.scores("NIGHT").tolist() == pytest.approx(expected, rel=1e-6)
    assert index.top("night", 5).tolist() == [1, 0]
    assert index.top("night", 5, allowed=np.array([True, False, True])).tolist() == [0]


def test_unknown_words_and_empty_texts_match_nothing():
    index = KeywordIndex([*TEXTS, ""])
    assert index.top("zebra", 5).tolist() == []
    assert index.top("the", 5).tolist() == []  # a stop word only
    assert index.top("zebra fire", 5).tolist() == [2]
