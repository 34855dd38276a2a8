"""Media files read and decoded on the executors: ``mapInPandas`` functions.

The driver only plans: each executor opens the files its rows name through ``pyarrow.fs``
(a local path, or any URI pyarrow reads: hdfs://, s3://, gs://), so no media byte passes
through the driver. ``fingerprint_batches`` only stats files (size, modification time);
``extraction_batches`` decodes them with ``contentlake.media_decode``, the shot detector
built once per Python worker and reused by its later tasks.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterator

import pandas as pd
from pyspark.sql import types as T

from contentlake.config import MediaSettings
from contentlake.media_decode import (
    MediaResult,
    ShotDetector,
    extract_poster,
    extract_video,
    make_detector,
)

logger = logging.getLogger(__name__)

FINGERPRINT_SCHEMA = T.StructType(
    [
        T.StructField("content_id", T.StringType()),
        T.StructField("media_kind", T.StringType()),
        T.StructField("source_uri", T.StringType()),
        T.StructField("resolved_uri", T.StringType()),
        T.StructField("media_input_hash", T.StringType()),
        T.StructField("file_state", T.StringType()),  # file, missing, invalid_uri
        T.StructField("size", T.LongType()),
    ]
)
KEYFRAME_STRUCT = T.StructType(
    [
        T.StructField("shot_index", T.IntegerType()),
        T.StructField("keyframe_index", T.IntegerType()),
        T.StructField("frame_index", T.IntegerType()),
        T.StructField("timestamp_seconds", T.DoubleType()),
        T.StructField("frame_hash", T.StringType()),
        T.StructField("image", T.BinaryType()),
        T.StructField("image_format", T.StringType()),
        T.StructField("width", T.IntegerType()),
        T.StructField("height", T.IntegerType()),
    ]
)
EXTRACTED_SCHEMA = T.StructType(
    [
        T.StructField("content_id", T.StringType()),
        T.StructField("media_kind", T.StringType()),
        T.StructField("source_uri", T.StringType()),
        T.StructField("resolved_uri", T.StringType()),
        T.StructField("media_input_hash", T.StringType()),
        T.StructField("status", T.StringType()),
        T.StructField("detail", T.StringType()),
        T.StructField("codec", T.StringType()),
        T.StructField("width", T.IntegerType()),
        T.StructField("height", T.IntegerType()),
        T.StructField("duration_seconds", T.DoubleType()),
        T.StructField("frames_decoded", T.IntegerType()),
        T.StructField("shots", T.IntegerType()),
        T.StructField("keyframes", T.ArrayType(KEYFRAME_STRUCT)),
    ]
)


def _filesystem_uri(uri: str) -> str:
    # Hadoop's s3a:// and s3n:// are plain s3:// to pyarrow.
    for prefix in ("s3a://", "s3n://"):
        if uri.startswith(prefix):
            return "s3://" + uri[len(prefix) :]
    return uri


@functools.lru_cache(maxsize=16)
def _filesystem(scheme_and_host: str):
    from pyarrow import fs

    return fs.FileSystem.from_uri(scheme_and_host or "/")[0]


def open_media(uri: str):
    """``(filesystem, path)`` for a resolved URI (filesystems cached per scheme and host)."""
    from pyarrow import fs

    target = _filesystem_uri(uri)
    if "://" not in target:
        return _filesystem(""), target
    filesystem, path = fs.FileSystem.from_uri(target)
    return filesystem, path


def fingerprint(resolved: str | None, source_uri: str) -> tuple[str, str, int | None]:
    """``(media_input_hash, file_state, size)``: the hash names the file and its size and
    modification time, so a replaced file is decoded again and an untouched one never
    (its bytes are not read here)."""
    from pyarrow import fs

    if resolved is None:
        state, size, stamp = "invalid_uri", None, source_uri
    else:
        filesystem, path = open_media(resolved)
        info = filesystem.get_file_info(path)
        if info.type != fs.FileType.File:
            state, size, stamp = "missing", None, resolved
        else:
            mtime = info.mtime_ns if info.mtime_ns is not None else 0
            state, size, stamp = "file", info.size, f"{resolved}\0{info.size}\0{mtime}"
    digest = hashlib.sha256(f"{state}\0{stamp}".encode()).hexdigest()
    return digest, state, size


def fingerprint_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas: ``content_id, media_kind, source_uri, resolved_uri`` ->
    FINGERPRINT_SCHEMA."""
    for batch in batches:
        hashes, states, sizes = [], [], []
        for resolved, source in zip(batch["resolved_uri"], batch["source_uri"], strict=True):
            digest, state, size = fingerprint(
                resolved if isinstance(resolved, str) else None, source
            )
            hashes.append(digest)
            states.append(state)
            sizes.append(size)
        yield batch.assign(
            media_input_hash=hashes, file_state=states, size=pd.array(sizes, dtype="Int64")
        )[FINGERPRINT_SCHEMA.fieldNames()]


@functools.lru_cache(maxsize=2)
def cached_detector(settings: MediaSettings) -> ShotDetector:
    """One detector per worker and settings (TransNetV2 loads its weights once)."""
    return make_detector(settings)


def extract_one(row: dict, settings: MediaSettings) -> MediaResult:
    """Decode one media file; any failure becomes a status, never an exception."""
    if row["file_state"] == "invalid_uri":
        return MediaResult(status="invalid_uri", detail="a relative URI may not contain '..'")
    if row["file_state"] == "missing":
        return MediaResult(status="missing_file", detail=f"no file at {row['resolved_uri']}")
    try:
        filesystem, path = open_media(row["resolved_uri"])
        with filesystem.open_input_file(path) as handle:
            if row["media_kind"] == "poster":
                return extract_poster(handle, int(row["size"]), settings)
            return extract_video(handle, int(row["size"]), settings, cached_detector(settings))
    except FileNotFoundError as error:  # removed between the stat and the decode
        return MediaResult(status="missing_file", detail=str(error))
    except Exception as error:  # noqa: BLE001 - one broken file must never stop the job
        logger.warning("decoding %s failed: %r", row["resolved_uri"], error)
        return MediaResult(status="decode_error", detail=f"{type(error).__name__}: {error}")


def extraction_batches(
    settings: MediaSettings,
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """mapInPandas: FINGERPRINT_SCHEMA rows -> EXTRACTED_SCHEMA rows, one per item."""

    def extract(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = []
            for row in batch.to_dict("records"):
                result = extract_one(row, settings)
                rows.append(
                    {
                        "content_id": row["content_id"],
                        "media_kind": row["media_kind"],
                        "source_uri": row["source_uri"],
                        "resolved_uri": row["resolved_uri"],
                        "media_input_hash": row["media_input_hash"],
                        "status": result.status,
                        "detail": result.detail,
                        "codec": result.codec,
                        "width": result.width,
                        "height": result.height,
                        "duration_seconds": result.duration_seconds,
                        "frames_decoded": result.frames_decoded,
                        "shots": result.shots,
                        "keyframes": [
                            {
                                "shot_index": k.shot_index,
                                "keyframe_index": k.keyframe_index,
                                "frame_index": k.frame_index,
                                "timestamp_seconds": k.timestamp_seconds,
                                "frame_hash": k.frame_hash,
                                "image": k.image,
                                "image_format": settings.keyframe_format,
                                "width": k.width,
                                "height": k.height,
                            }
                            for k in result.keyframes
                        ],
                    }
                )
            yield pd.DataFrame(rows, columns=EXTRACTED_SCHEMA.fieldNames())

    return extract
