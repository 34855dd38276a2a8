"""Image embeddings without Spark, and the device each task would choose."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from contentlake.udfs.devices import DeviceChoice, choose_device
from contentlake.udfs.image_embedding import (
    EFFICIENTNET_LITE0,
    embed_image_batches,
    encode_images,
    image_model_fingerprint,
    load_image_model,
)
from PIL import Image


def png(colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def striped(colour: tuple[int, int, int]) -> bytes:
    """Half ``colour``, half black: a frame with some structure."""
    pixels = np.zeros((32, 48, 3), dtype=np.uint8)
    pixels[:, :24] = colour
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("requested", "addresses", "cuda", "expected"),
    [
        ("auto", ["3"], True, DeviceChoice("cuda:3", "3", True)),
        ("auto", ["3", "5"], True, DeviceChoice("cuda:3", "3", True)),
        # Spark assigned a GPU torch cannot see: the CPU, and the address stays on record.
        ("auto", ["3"], False, DeviceChoice("cpu", "3", False)),
        ("auto", [], True, DeviceChoice("cuda:0", None, True)),
        ("auto", [], False, DeviceChoice("cpu", None, False)),
        ("cpu", ["1"], True, DeviceChoice("cpu", "1", False)),
        ("cuda:2", [], False, DeviceChoice("cuda:2", None, True)),
    ],
)
def test_the_device_follows_the_tasks_gpu_then_cuda_0_then_the_cpu(
    requested, addresses, cuda, expected
):
    assert choose_device(requested, addresses, cuda) == expected


def test_outside_a_spark_task_there_is_no_gpu_address():
    assert choose_device("auto", cuda_available=False) == DeviceChoice("cpu", None, False)


@pytest.fixture(scope="module")
def tiny_clip(tiny_image_model) -> str:
    return tiny_image_model


def reseeded(model: str, folder, seed: int) -> str:
    """The same tiny architecture with other random weights."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(seed)
    CLIPVisionModel(CLIPVisionConfig.from_pretrained(model.split(":", 1)[1])).save_pretrained(
        folder
    )
    return f"hf:{folder}"


def test_a_tiny_clip_gives_unit_vectors_in_input_order_and_none_for_bad_images(tiny_clip):
    encoder = load_image_model(tiny_clip, "cpu")
    images = [png((255, 0, 0)), b"not an image", None, striped((0, 0, 255)), png((255, 0, 0))]

    vectors = encode_images(encoder, images, batch_size=2)

    assert [v is None for v in vectors] == [False, True, True, False, False]
    assert all(v.shape == (32,) and v.dtype == np.float32 for v in vectors if v is not None)
    np.testing.assert_allclose([np.linalg.norm(v) for v in vectors if v is not None], 1, 1e-6)
    # Batched as [red, blue] and [red]: the same image gives the same vector in any batch.
    np.testing.assert_array_equal(vectors[0], vectors[4])
    assert not np.allclose(vectors[0], vectors[3])


def test_the_udf_body_regroups_arrow_batches_and_keeps_rows_in_order(tiny_clip):
    """What a Python worker runs, without Spark: batches of 3 and 4 rows come out as
    batches of ``images_per_call`` (2) with every row's vector, in order, None for the bad
    one, equal to what ``encode_images`` gives each image."""
    images = [png((255, 0, 0)), striped((0, 0, 255)), b"broken", png((0, 255, 0))]
    images += [striped((255, 255, 0)), png((0, 0, 0)), png((255, 0, 0))]
    arrow_batches = iter([pd.Series(images[:3]), pd.Series(images[3:])])

    out = list(embed_image_batches(arrow_batches, tiny_clip, "cpu", 4, images_per_call=2))

    assert [len(batch) for batch in out] == [2, 2, 2, 1]
    rows = [row for batch in out for row in batch]
    expected = encode_images(load_image_model(tiny_clip, "cpu"), images)
    assert [row is None for row in rows] == [v is None for v in expected]
    for row, vector in zip(rows, expected, strict=True):
        if vector is not None:
            np.testing.assert_allclose(row, vector, atol=1e-6)


def test_a_model_fingerprint_is_stable_and_follows_the_weights(tiny_clip, tmp_path):
    other = reseeded(tiny_clip, tmp_path / "other", seed=4)

    assert image_model_fingerprint(tiny_clip) == image_model_fingerprint(tiny_clip)
    assert image_model_fingerprint(tiny_clip) != image_model_fingerprint(other)
    assert len(image_model_fingerprint(tiny_clip)) == 16


def test_efficientnet_lite0_with_its_packaged_imagenet_weights():
    """The one test of the real default model: 1280-d, and frames that look alike are
    closer than frames that do not."""
    encoder = load_image_model(EFFICIENTNET_LITE0, "cpu")
    red, dark_red, blue = encode_images(
        encoder, [striped((230, 20, 20)), striped((190, 10, 10)), png((20, 20, 230))]
    )

    assert red.shape == (1280,)
    assert float(red @ dark_red) > float(red @ blue)
    assert image_model_fingerprint(EFFICIENTNET_LITE0) == "b8251e68b0205ff4"
