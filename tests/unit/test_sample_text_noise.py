"""``SampleSpec.text_noise``: some items described in another genre's words, nothing else
changed (what makes the text modality imperfect in bench/modalities.py). No Spark."""

import dataclasses
import json
from pathlib import Path

from contentlake.sample_data import (
    GENRE_VOCABULARY,
    SampleSpec,
    _Catalogue,
    catalog_path,
    events_path,
    generate,
)

SPEC = SampleSpec(items=40, days=2, users=20, events_per_day=200, seed=3, bad_share=0.0)


def _records(root: Path, spec: SampleSpec) -> list[dict]:
    lines = catalog_path(root, spec.landing_dates()[0]).read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_noisy_items_take_another_genres_words_and_keep_their_genres(tmp_path: Path) -> None:
    noisy = dataclasses.replace(SPEC, text_noise=0.5)
    generate(tmp_path / "clean", SPEC)
    generate(tmp_path / "noisy", noisy)
    clean_records, noisy_records = (
        _records(tmp_path / "clean", SPEC),
        _records(tmp_path / "noisy", noisy),
    )
    catalogue = _Catalogue(seed=noisy.seed, text_noise=noisy.text_noise)

    changed = 0
    for clean, record in zip(clean_records, noisy_records, strict=True):
        unchanged = ("content_id", "content_type", "genres", "duration_seconds", "language")
        assert {k: record[k] for k in unchanged} == {k: clean[k] for k in unchanged}
        words = catalogue.word_genres(record["content_id"], record["genres"])
        if words == record["genres"]:
            # Not drawn as noisy: the clean record, but for an episode's title, which starts
            # with its series' (maybe noisy) title.
            if record["content_type"] == "episode":
                clean["title"] = record["title"]
            assert record == clean
            continue
        changed += 1
        assert words[0] not in record["genres"] and words[1:] == record["genres"][1:]
        assert record["tags"][0] in GENRE_VOCABULARY[words[0]].themes
        assert record["description"] != clean["description"]
    assert 10 <= changed <= 30  # about half of 40
    # Viewing does not depend on the words: the events are the same bytes.
    for day in SPEC.landing_dates():
        assert events_path(tmp_path / "noisy", day).read_bytes() == (
            events_path(tmp_path / "clean", day).read_bytes()
        )
