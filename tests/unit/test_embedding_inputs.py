from chispa import assert_df_equality

from contentlake.transforms.embedding_inputs import (
    filter_needs_embedding,
    with_embedding_text,
    with_input_hash,
)

CONTENT_SCHEMA = (
    "content_id string, title string, description string, genres array<string>, tags array<string>"
)


def test_embedding_text_joins_the_parts_and_skips_missing_ones(spark):
    content_df = spark.createDataFrame(
        [
            ("c1", "The Heist", "A crew robs a bank.", ["thriller", "drama"], ["heist"]),
            ("c2", "Puppy Days", None, [], None),
        ],
        CONTENT_SCHEMA,
    )
    texts = {r.content_id: r.embedding_text for r in with_embedding_text(content_df).collect()}
    assert texts == {
        "c1": "The Heist. A crew robs a bank.. Genres: thriller, drama. Tags: heist",
        "c2": "Puppy Days",
    }


def test_input_hash_is_sha256_of_the_text(spark):
    df = spark.createDataFrame([("abc",)], "embedding_text string")
    assert with_input_hash(df).first().input_hash == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_only_changed_text_or_model_is_embedded_again(spark):
    inputs_df = spark.createDataFrame(
        [("c1", "t1", "h1"), ("c2", "t2", "h2-new"), ("c3", "t3", "h3"), ("c4", "t4", "h4")],
        "content_id string, embedding_text string, input_hash string",
    )
    embeddings_df = spark.createDataFrame(
        [
            ("c1", "text", "v1", "h1"),  # unchanged: skipped
            ("c2", "text", "v1", "h2"),  # text changed: embed
            ("c3", "text", "v0", "h3"),  # older model: embed
            ("c4", "image", "v1", "h4"),  # other modality only: embed
        ],
        "content_id string, modality string, model_version string, input_hash string",
    )
    pending_df = filter_needs_embedding(inputs_df, embeddings_df, "text", "v1")
    expected_df = spark.createDataFrame(
        [("c2", "t2", "h2-new"), ("c3", "t3", "h3"), ("c4", "t4", "h4")], inputs_df.schema
    )
    assert_df_equality(pending_df, expected_df, ignore_row_order=True)
