"""A model shipped as one zip split over several packages is joined and unpacked once."""

from __future__ import annotations

import io
import zipfile

import pytest
from contentlake.udfs import text_embedding


@pytest.fixture
def split_model(tmp_path, monkeypatch):
    """A two-part split zip of a model folder, found the way installed parts are."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("tiny-model/modules.json", "[]")
        zipped.writestr("tiny-model/config.json", '{"hidden_size": 4}')
    data = archive.getvalue()
    parts = {1: data[: len(data) // 2], 2: data[len(data) // 2 :]}
    for number, chunk in parts.items():
        (tmp_path / f"tiny.zip.{number:03d}").write_bytes(chunk)
    monkeypatch.setitem(text_embedding.SPLIT_ZIP_MODELS, "tiny", ("tiny-part-{:03d}", 2, "t.zip"))
    reads = []

    def installed_part(distribution: str, part: int):
        reads.append(distribution)
        return tmp_path / f"tiny.zip.{part:03d}"

    monkeypatch.setattr(text_embedding, "_split_zip_part", installed_part)
    return reads


def test_parts_are_joined_in_order_and_the_model_folder_found(split_model, tmp_path):
    folder = text_embedding.unpack_split_zip_model("tiny", cache=tmp_path / "cache")

    assert folder == tmp_path / "cache" / "contentlake" / "models" / "tiny" / "tiny-model"
    assert (folder / "config.json").read_text() == '{"hidden_size": 4}'
    assert split_model == ["tiny-part-001", "tiny-part-002"]
    # No staging folder or joined zip is left beside the model.
    assert [p.name for p in folder.parent.parent.iterdir()] == ["tiny"]


def test_a_second_call_reuses_the_unpacked_model(split_model, tmp_path):
    first = text_embedding.unpack_split_zip_model("tiny", cache=tmp_path / "cache")
    second = text_embedding.unpack_split_zip_model("tiny", cache=tmp_path / "cache")

    assert first == second
    assert split_model == ["tiny-part-001", "tiny-part-002"]


def test_a_missing_part_says_which_extra_to_install():
    with pytest.raises(FileNotFoundError, match=r"contentlake\[mpnet\]"):
        text_embedding._split_zip_part("no-such-model-part-001", 1)
