"""The accepted values and column lists that transforms, generator, DDL and checks share.

Declared once here and imported by the Python side. SQL cannot import, so the CHECK
constraints in ``sql/ddl`` and the accepted-value checks in ``sql/dq`` repeat these lists;
``tests/unit/test_contract.py`` fails when they drift apart. Change a value here and in
those files together.

Plain tuples and no imports, so the sample generator and Spark-free tests read the contract
without loading pyspark.
"""

# Order matters beyond the lists: the sample generator makes seeded draws from CONTENT_TYPES
# and DEVICES, so reordering them changes the sample files.
EVENT_TYPES = ("impression", "play", "pause", "complete", "click", "like", "share")
CONTENT_TYPES = ("movie", "series", "episode", "clip")
# A new device shows up as a warning in sql/dq/events/device_known.sql, not as a rejection.
DEVICES = ("tv", "mobile", "web", "tablet")

# The event landing CSV header, in file order; bronze_events keeps these as strings.
RAW_EVENT_COLUMNS = (
    "event_id",
    "user_id",
    "content_id",
    "event_type",
    "event_ts",
    "watch_seconds",
    "device",
)
# The silver events table, less the _ingest_date bookkeeping column.
EVENT_COLUMNS = (
    "event_id",
    "user_id",
    "content_id",
    "event_type",
    "event_ts",
    "event_date",
    "watch_seconds",
    "device",
)
# The catalogue landing JSON fields, which are also the silver content table's columns
# (less _ingest_date).
CONTENT_COLUMNS = (
    "content_id",
    "content_type",
    "title",
    "description",
    "genres",
    "tags",
    "language",
    "duration_seconds",
    "release_date",
    "updated_at",
    "series_id",
    # Optional media references (docs/media.md): absent from a record means null.
    "poster_uri",
    "video_uri",
)
# The content columns that name media files, and the media kind each holds.
MEDIA_URI_COLUMNS = {"poster_uri": "poster", "video_uri": "video"}
# content_media_status.status: ok, or why the item's media gave no keyframes.
MEDIA_STATUSES = (
    "ok",
    "missing_file",
    "empty_file",
    "invalid_uri",
    "truncated",
    "not_a_video",
    "not_an_image",
    "unsupported_codec",
    "decode_error",
    "no_frames",
)
# content_keyframes.kind: a poster image or a keyframe of the video.
KEYFRAME_KINDS = ("poster", "keyframe")
