"""Neighbours per modality on hand-made vectors (contentlake/modality_neighbours.py): what
the demo prints and what bench/modalities.py scores. No Spark."""

import numpy as np
import pytest

from contentlake.modality_neighbours import (
    ModalityVectors,
    genre_precision,
    neighbour_lines,
    neighbours_by_modality,
    pick_items,
)

# Components chosen so every cosine is exact in float32: 0, 0.5 or 1.
TEXT = ModalityVectors.from_mapping(
    {
        "c1": [1, 0, 0, 0],
        "c2": [0.5, 0.5, 0.5, 0.5],
        "c3": [0, 1, 0, 0],
        "c4": [0, 0, 0, 1],
        "c5": [0, 0, 2, 0],  # not unit: normalised on reading
    }
)
VISUAL = ModalityVectors.from_mapping(
    {"c1": [0, 1], "c2": [1, 0], "c4": [0, -3], "c5": [0, 0.5]}  # c3 has no look
)


def test_nearest_ranks_by_cosine_leaves_the_item_out_and_breaks_ties_by_id():
    found = TEXT.nearest(["c1", "c2", "c5"], k=3)

    assert found == {
        "c1": [("c2", 0.5), ("c3", 0.0), ("c4", 0.0)],
        "c2": [("c1", 0.5), ("c3", 0.5), ("c4", 0.5)],
        "c5": [("c2", 0.5), ("c1", 0.0), ("c3", 0.0)],
    }


def test_neighbours_per_modality_skip_a_query_without_that_modality():
    found = neighbours_by_modality({"text": TEXT, "visual": VISUAL}, ["c3", "c4"], k=2)

    assert found == {
        "text": {"c3": [("c2", 0.5), ("c1", 0.0)], "c4": [("c2", 0.5), ("c1", 0.0)]},
        "visual": {"c4": [("c2", 0.0), ("c1", -1.0)]},
    }


def test_vectors_are_normalised_and_a_zero_vector_stays_zero():
    vectors = ModalityVectors.from_mapping({"b": [0, 0], "a": [3, 4]})

    assert vectors.ids == ("a", "b")
    np.testing.assert_array_equal(vectors.matrix, np.array([[0.6, 0.8], [0, 0]], np.float32))
    assert "a" in vectors and "z" not in vectors
    assert ModalityVectors.from_mapping({}).nearest(["a"], 3) == {}


def test_genre_precision_counts_neighbours_of_the_same_primary_genre():
    primary = {"c1": "drama", "c2": "drama", "c3": "comedy", "c4": "drama", "c5": "comedy"}
    neighbours = {"c1": [("c2", 0.9), ("c3", 0.1)], "c3": [("c5", 0.8), ("unknown", 0.7)]}

    # c1: 1 of 2 from drama; c3: 1 of 2 (an id without a genre counts as a miss).
    assert genre_precision(neighbours, primary, k=2) == pytest.approx(0.5)
    assert genre_precision({"c1": [("c2", 0.9)]}, primary, k=2) == 0.5  # short list: misses
    assert genre_precision({}, primary, k=2) is None


def test_pick_items_spreads_over_items_having_every_modality():
    empty = ModalityVectors.from_mapping({})

    assert pick_items({"text": TEXT, "visual": VISUAL}, 2) == ["c1", "c4"]
    assert pick_items({"text": TEXT, "visual": VISUAL, "behaviour": empty}, 5) == [
        "c1",
        "c2",
        "c4",
        "c5",
    ]
    assert pick_items({}, 3) == []


def test_neighbour_lines_print_each_modality_under_each_item():
    found = neighbours_by_modality({"text": TEXT, "visual": VISUAL}, ["c3"], k=2)
    describe = {"c1": "'One' [drama]", "c2": "'Two' [comedy]", "c3": "'Three' [drama]"}

    assert neighbour_lines(found, ["c3"], describe) == [
        "",
        "  c3 'Three' [drama]",
        "    by text:",
        "      0.500  c2 'Two' [comedy]",
        "      0.000  c1 'One' [drama]",
        "    by look:",
        "      (no vector)",
    ]
