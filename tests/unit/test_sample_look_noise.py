"""``SampleSpec.look_noise``: some items' videos and posters take another genre's look, drawn
independently of the text noise (what makes the visual modality imperfect, and imperfect on
other items than the text, in bench/modalities.py). No Spark."""

import numpy as np

from contentlake.sample_data import GENRES, _Catalogue
from contentlake.sample_media import (
    GENRE_LOOKS,
    look_genre,
    poster_image,
    render_frames,
    video_plan,
)

RECORDS = [
    {"content_id": f"c{n:06d}", "genres": [GENRES[n % len(GENRES)], GENRES[(n + 3) % len(GENRES)]]}
    for n in range(1, 201)
]


def test_a_noisy_look_is_another_genres_and_a_clean_one_is_unchanged() -> None:
    noisy = [r for r in RECORDS if look_genre(7, r, 0.3) != r["genres"][0]]

    assert 40 <= len(noisy) <= 80  # about 0.3 of 200
    assert all(look_genre(7, r, 0.3) not in r["genres"] for r in noisy)
    assert all(look_genre(7, r) == r["genres"][0] for r in RECORDS)
    clean = next(r for r in RECORDS if r not in noisy)
    assert np.array_equal(
        render_frames(video_plan(7, clean, 0.3)), render_frames(video_plan(7, clean))
    )
    assert np.array_equal(poster_image(7, clean, 0.3), poster_image(7, clean))
    record = noisy[0]
    plan = video_plan(7, record, 0.3)
    assert plan.style == GENRE_LOOKS[look_genre(7, record, 0.3)].texture
    assert not np.array_equal(poster_image(7, record, 0.3), poster_image(7, record))


def test_look_noise_is_drawn_independently_of_text_noise() -> None:
    catalogue = _Catalogue(seed=7, text_noise=0.3)
    text = {
        r["content_id"]
        for r in RECORDS
        if catalogue.word_genres(r["content_id"], r["genres"]) != r["genres"]
    }
    look = {r["content_id"] for r in RECORDS if look_genre(7, r, 0.3) != r["genres"][0]}

    # Independent draws of 0.3 each: about 0.09 of 200 items are noisy in both, far from
    # either set (the same stream would make them equal).
    assert 5 <= len(text & look) <= 35 and text != look
