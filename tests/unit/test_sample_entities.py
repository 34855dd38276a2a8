"""The planted duplicates and hard negatives of the sample catalogue, and their truth file."""

from __future__ import annotations

import json
from dataclasses import replace

from contentlake.sample_data import SampleSpec, catalog_path, generate
from contentlake.sample_entities import (
    entities_truth_path,
    load_entities_truth,
    translate_title,
    true_pairs,
)

SPEC = SampleSpec(items=120, days=2, users=20, events_per_day=200, seed=11, bad_share=0.0)


def records(root, day):
    lines = catalog_path(root, day).read_text().splitlines()
    return {r["content_id"]: r for r in map(json.loads, lines)}


def test_titles_translate_by_template_and_word():
    assert translate_title("The Quiet Letter") == "El Carta callado"
    assert translate_title("Quiet Letter") == "Carta callado"
    assert translate_title("The Kiss and the Promise") == "El Beso y el Promesa"
    assert translate_title("Harvest of the Golden Kingdom") == "Cosecha del Reino dorado"
    assert translate_title("The Unknownword Letter") == "El Carta Unknownword"


def test_without_groups_nothing_is_planted_and_no_truth_is_written(tmp_path):
    generate(tmp_path, SPEC)
    assert not entities_truth_path(tmp_path).exists()


def test_planted_groups_are_copies_of_their_original_by_kind_and_the_files_repeat(tmp_path):
    spec = replace(SPEC, duplicate_groups=12)
    generate(tmp_path / "a", spec)
    generate(tmp_path / "b", spec)
    day = spec.start_date
    assert (
        catalog_path(tmp_path / "a", day).read_bytes()
        == catalog_path(tmp_path / "b", day).read_bytes()
    )
    truth = load_entities_truth(tmp_path / "a")
    assert truth == load_entities_truth(tmp_path / "b")
    catalogue = records(tmp_path / "a", day)
    assert len(truth["groups"]) == 12
    kept = ("content_type", "genres", "series_id")
    for group in truth["groups"]:
        original = catalogue[group["original"]]
        assert sorted(group["ids"]) == group["ids"] and original["content_id"] in group["ids"]
        for copy_id, kind in group["copies"].items():
            copy = catalogue[copy_id]
            assert copy_id > "c000120"  # after the regular items
            assert {k: copy[k] for k in kept} == {k: original[k] for k in kept}
            if kind == "exact":
                assert copy["title"] == original["title"]
            if kind == "translated_title":
                assert copy["language"] == "es" and copy["title"] != original["title"]
            if kind == "shifted_duration":
                gap = abs(copy["duration_seconds"] - original["duration_seconds"])
                assert 0 < gap <= 0.04 * original["duration_seconds"] + 1
            if kind == "date_precision":
                assert copy["release_date"][:4] == original["release_date"][:4]
                assert copy["release_date"].endswith("-01")
    pairs = true_pairs(truth)
    assert len(pairs) == sum(len(g["ids"]) * (len(g["ids"]) - 1) // 2 for g in truth["groups"])
    for negative in truth["hard_negatives"]:
        first, second = (catalogue[i] for i in negative["ids"])
        assert tuple(negative["ids"]) not in pairs
        if negative["kind"] == "trailer":
            assert (first["content_type"], second["content_type"]) == ("movie", "clip")
            assert first["title"] == second["title"]
        if negative["kind"] == "episode":
            assert first["series_id"] == second["series_id"] is not None
