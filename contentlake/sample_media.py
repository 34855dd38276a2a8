"""Small real media files for the sample catalogue: H.264 videos with hard cuts, and posters.

How the modalities' signals are generated (the multimodal benchmark relies on it):

* **Genre** drives the text (``sample_data``: titles, descriptions and tags draw from the
  primary genre's words) and also the *look*: each genre has a hue, a saturation, a motion
  speed and a house texture (``GENRE_LOOKS``; genres sharing a texture differ in hue), the
  texture of every shot of its videos. Every shot of a video takes the hue of the item's
  primary genre, shifted a little per shot; with two or more genres the last shot may take
  the second genre's hue instead. Posters are a vertical gradient in the primary genre's hue. With
  ``look_noise`` > 0 (``SampleSpec.look_noise``) that share of the items takes another
  genre's look in every shot and on the poster (``look_genre``: a per-item draw from a stream
  of its own, independent of the text noise): a trailer cut in another genre's palette.
* **Style** is a hidden per-item attribute (``sample_data.item_style``: one of ``STYLES``,
  drawn from its own seeded stream, independent of genre, text and popularity). It never
  appears in the catalogue record or the text. It sets the texture of the poster (stripes,
  checker, dots, waves, grain, rings) and its contrast. Items of one style share it across
  genres, so the visual modality carries information the text lacks.
* **Behaviour** follows genre (users' favourite genres, ``sample_data``) and, with
  ``SampleSpec.style_share`` > 0, also style: that share of sessions starts from an item of
  the user's favourite style (``sample_data.user_style``), whatever its genre. Behaviour then
  shares the style signal with the visual modality and the genre signal with the text.

So text sees genre only (wrongly for the ``text_noise`` items); look sees genre (the
videos' hue and texture, noisily: per-shot shifts, a second genre's hue in a shot, another
genre's look for the ``look_noise`` items) plus style (the poster's texture); behaviour
sees genre (plus style with ``style_share``), through popularity and user noise. Each
modality's noise is drawn independently, per item, so the items one modality gets wrong are
mostly ones the others get right: that is what lets a fused vector beat the best single one.

Each video is 2-4 s at ``FPS`` frames per second, ``WIDTH`` x ``HEIGHT``, with 2-4 shots
separated by hard cuts (``VideoPlan.shot_starts``, recorded in ``_expected.json``), moving
texture and a moving square inside each shot. Files are deterministic for a seed and a
PyAV/FFmpeg release (libx264 runs single-threaded, no B-frames).

Bad media (``BAD_VIDEO_KINDS``, one of each when bad media are asked for): a truncated video
(the MP4 cut short, its index box never written), a zero-byte file, a text file named
``.mp4``, a URI naming no file, and an AVI whose stream's codec tag FFmpeg does not know
(no decoder: ``unsupported_codec``); plus one poster that is text named ``.png``.

Needs numpy, PyAV and Pillow (the ``pipeline`` extra); ``sample_data`` imports this module
only when media are asked for, so the text-only generator stays standard-library.
"""

from __future__ import annotations

import colorsys
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contentlake.sample_data import GENRES, _rng, item_style

FPS = 8
WIDTH, HEIGHT = 96, 64
POSTER_WIDTH, POSTER_HEIGHT = 48, 72
MIN_SHOT_FRAMES = 4
VIDEO_FOLDER = "media/video"
POSTER_FOLDER = "media/poster"
BAD_VIDEO_KINDS = ("truncated", "empty_file", "not_a_video", "missing_file", "unsupported_codec")
BAD_POSTER_KINDS = ("not_an_image",)
# Bad media take the last items of the media subset, so a run needs a few good ones too.
MIN_ITEMS_FOR_BAD_MEDIA = 8


@dataclass(frozen=True)
class GenreLook:
    hue: float  # 0..1
    saturation: float
    speed: float  # texture motion, pixels per frame
    texture: str  # one of sample_data.STYLES: the house texture of the genre's videos


# Ten genres, six textures: genres that share a texture are far apart in hue.
GENRE_LOOKS = {
    "drama": GenreLook(0.08, 0.45, 0.5, "waves"),
    "comedy": GenreLook(0.15, 0.85, 1.5, "dots"),
    "documentary": GenreLook(0.30, 0.35, 0.5, "grain"),
    "thriller": GenreLook(0.62, 0.50, 2.5, "stripes"),
    "animation": GenreLook(0.85, 0.90, 1.5, "checker"),
    "sci-fi": GenreLook(0.52, 0.70, 2.5, "rings"),
    "romance": GenreLook(0.95, 0.55, 0.5, "dots"),
    "sports": GenreLook(0.40, 0.75, 3.0, "checker"),
    "horror": GenreLook(0.00, 0.70, 2.0, "stripes"),
    "kids": GenreLook(0.20, 0.90, 1.5, "rings"),
}
# Shots cycle through brightness levels far enough apart that a cut changes the colour
# histogram wholesale while motion inside a shot barely moves it.
_SHOT_VALUES = (0.2, 0.5, 0.85)
_TEXTURE_CONTRAST = {
    "stripes": 0.22,
    "checker": 0.12,
    "dots": 0.25,
    "waves": 0.2,
    "grain": 0.15,
    "rings": 0.22,
}


@dataclass(frozen=True)
class Shot:
    start: int  # first frame
    colour: tuple[float, float, float]  # RGB 0..1
    phase: float
    direction: tuple[float, float]
    square: tuple[float, float, float, float]  # x0, y0, vx, vy


@dataclass(frozen=True)
class VideoPlan:
    content_id: str
    style: str  # the texture of every shot: the look genre's house texture
    frames: int
    speed: float
    shots: tuple[Shot, ...]

    @property
    def shot_starts(self) -> list[int]:
        return [shot.start for shot in self.shots]


def _colour(hue: float, saturation: float, value: float) -> tuple[float, float, float]:
    return colorsys.hsv_to_rgb(hue % 1.0, saturation, value)


def look_genre(seed: int, record: dict[str, Any], look_noise: float = 0.0) -> str:
    """The genre whose look the item's media take: its primary genre, or for a
    ``look_noise`` share of the items (drawn per item) another genre."""
    genres = record["genres"]
    if look_noise <= 0:
        return genres[0]
    rng = _rng(seed, "look-noise", record["content_id"])
    if rng.random() >= look_noise:
        return genres[0]
    return rng.choice([g for g in GENRES if g not in genres])


def video_plan(seed: int, record: dict[str, Any], look_noise: float = 0.0) -> VideoPlan:
    """The video of one catalogue record: length, cuts and each shot's look."""
    content_id = record["content_id"]
    rng = _rng(seed, "media-video", content_id)
    genres = record["genres"]
    look = GENRE_LOOKS[look_genre(seed, record, look_noise)]
    frames = FPS * rng.choice((2, 3, 4))
    shot_count = rng.randint(2, min(4, frames // MIN_SHOT_FRAMES))
    while True:
        cuts = sorted(
            rng.sample(range(MIN_SHOT_FRAMES, frames - MIN_SHOT_FRAMES + 1), shot_count - 1)
        )
        bounds = [0, *cuts, frames]
        if all(b - a >= MIN_SHOT_FRAMES for a, b in zip(bounds, bounds[1:], strict=False)):
            break
    first_value = rng.randrange(len(_SHOT_VALUES))
    shots = []
    for number, start in enumerate(bounds[:-1]):
        hue = look.hue + 0.05 * ((number % 3) - 1) + rng.uniform(-0.02, 0.02)
        if number == shot_count - 1 and len(genres) > 1 and rng.random() < 0.5:
            hue = GENRE_LOOKS[genres[1]].hue
        value = _SHOT_VALUES[(first_value + number) % len(_SHOT_VALUES)]
        angle = rng.uniform(0, 2 * math.pi)
        square = (
            rng.uniform(0, WIDTH - 16),
            rng.uniform(0, HEIGHT - 12),
            rng.uniform(-2, 2),
            rng.uniform(-1.5, 1.5),
        )
        shots.append(
            Shot(
                start=start,
                colour=_colour(hue, look.saturation, value),
                phase=rng.uniform(0, 16),
                direction=(math.cos(angle), math.sin(angle)),
                square=square,
            )
        )
    return VideoPlan(content_id, look.texture, frames, look.speed, tuple(shots))


def _texture(style: str, width: int, height: int, dx: float, dy: float, seed: int) -> np.ndarray:
    """The style's pattern in [0, 1], shifted by (dx, dy) pixels."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    x, y = x + dx, y + dy
    if style == "stripes":
        return 0.5 + 0.5 * np.sin(2 * np.pi * x / 12)
    if style == "checker":
        return ((np.floor(x / 8) + np.floor(y / 8)) % 2).astype(np.float64)
    if style == "dots":
        return (np.hypot((x % 12) - 6, (y % 12) - 6) < 3).astype(np.float64)
    if style == "waves":
        return 0.5 + 0.5 * np.sin(2 * np.pi * (x / 16 + 0.35 * np.sin(2 * np.pi * y / 20)))
    if style == "rings":
        return 0.5 + 0.5 * np.sin(np.hypot(x % 48 - 24, y % 48 - 24) / 2.5)
    # grain: a fixed random field per seed, scrolled
    field = np.random.default_rng(seed).random((64, 64))
    return field[np.floor(y).astype(int) % 64, np.floor(x).astype(int) % 64]


def _shade(colour: tuple[float, float, float], texture: np.ndarray, contrast: float) -> np.ndarray:
    scale = 1.0 + contrast * (texture - 0.5) * 2
    return np.asarray(colour)[None, None, :] * scale[..., None]


def render_frames(plan: VideoPlan) -> np.ndarray:
    """All frames of ``plan`` as uint8 RGB, shape (frames, HEIGHT, WIDTH, 3)."""
    contrast = _TEXTURE_CONTRAST[plan.style]
    grain_seed = int(plan.content_id[1:])
    out = np.empty((plan.frames, HEIGHT, WIDTH, 3), np.uint8)
    starts = [*plan.shot_starts, plan.frames]
    for shot, end in zip(plan.shots, starts[1:], strict=True):
        for frame in range(shot.start, end):
            t = frame - shot.start
            # Whole-pixel shifts of a texture whose period divides the frame: the colours
            # of a shot stay the same while it moves (motion without a histogram change).
            dx = round(shot.phase + plan.speed * t * shot.direction[0])
            dy = round(shot.phase + plan.speed * t * shot.direction[1])
            image = _shade(
                shot.colour, _texture(plan.style, WIDTH, HEIGHT, dx, dy, grain_seed), contrast
            )
            x0, y0, vx, vy = shot.square
            x = int(round(x0 + vx * t)) % (WIDTH - 12)
            y = int(round(y0 + vy * t)) % (HEIGHT - 10)
            image[y : y + 10, x : x + 12] = 1.0 - np.asarray(shot.colour)
            out[frame] = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def encode_video(frames: np.ndarray, codec: str = "libx264", container: str = "mp4") -> bytes:
    """``frames`` (uint8 RGB) as a video file's bytes, at ``FPS``."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=FPS)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1
        if codec == "libx264":
            # One thread and no B-frames: the same bytes on every run, frames in display order.
            stream.options = {"bf": "0", "threads": "1", "preset": "veryfast", "crf": "20"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()


def poster_image(seed: int, record: dict[str, Any], look_noise: float = 0.0) -> np.ndarray:
    """A poster as uint8 RGB (POSTER_HEIGHT, POSTER_WIDTH, 3): the genre's hue as a gradient,
    the style's texture, and a title band whose colour comes from the item's own draw."""
    content_id = record["content_id"]
    rng = _rng(seed, "media-poster", content_id)
    look = GENRE_LOOKS[look_genre(seed, record, look_noise)]
    style = item_style(seed, content_id)
    rows = [_colour(look.hue, look.saturation, v) for v in np.linspace(0.9, 0.3, POSTER_HEIGHT)]
    base = np.repeat(np.asarray(rows)[:, None, :], POSTER_WIDTH, axis=1)
    texture = _texture(
        style, POSTER_WIDTH, POSTER_HEIGHT, rng.uniform(0, 16), 0.0, int(content_id[1:])
    )
    image = base * (1.0 + 1.5 * _TEXTURE_CONTRAST[style] * (texture - 0.5) * 2)[..., None]
    band = _colour(rng.random(), 0.3, 0.95)
    top = rng.randint(8, POSTER_HEIGHT - 20)
    image[top : top + 10, 4:-4] = band
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def video_uri(content_id: str, suffix: str = "mp4") -> str:
    """Videos are named by a URI relative to the landing root."""
    return f"{VIDEO_FOLDER}/{content_id}.{suffix}"


def poster_uri(content_id: str) -> str:
    """Posters by a landing:// URI: the sample exercises both forms (docs/media.md)."""
    return f"landing://{POSTER_FOLDER}/{content_id}.png"


def _unknown_codec_avi(frames: np.ndarray) -> bytes:
    """An AVI whose stream names a codec tag FFmpeg has no decoder for."""
    data = encode_video(frames, codec="mpeg4", container="avi")
    # mpeg4 in AVI is tagged FMP4 in the stream header and the bitmap header, both early.
    head, tail = data[:4096], data[4096:]
    return head.replace(b"FMP4", b"ZQ9X") + tail


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_media(
    landing_root: Path,
    seed: int,
    records: list[dict[str, Any]],
    with_bad: bool,
    look_noise: float = 0.0,
) -> dict[str, Any]:
    """Write a poster and a video for each record, set its ``poster_uri`` and ``video_uri``
    (the records are changed in place) and return what was written for ``_expected.json``.

    With ``with_bad`` (and at least ``MIN_ITEMS_FOR_BAD_MEDIA`` records) the last records'
    videos are the bad kinds of ``BAD_VIDEO_KINDS``, one each (their posters stay good), and
    the record before them gets a bad poster (its video stays good).
    """
    landing_root = Path(landing_root)
    bad_videos: dict[str, str] = {}
    bad_posters: dict[str, str] = {}
    if with_bad and len(records) >= MIN_ITEMS_FOR_BAD_MEDIA:
        tail = records[-len(BAD_VIDEO_KINDS) :]
        bad_videos = {r["content_id"]: kind for r, kind in zip(tail, BAD_VIDEO_KINDS, strict=True)}
        bad_posters = {records[-len(BAD_VIDEO_KINDS) - 1]["content_id"]: "not_an_image"}
    videos: dict[str, Any] = {}
    posters: dict[str, Any] = {}
    for record in records:
        content_id = record["content_id"]
        plan = video_plan(seed, record, look_noise)
        frames = render_frames(plan)
        kind = bad_videos.get(content_id)
        uri = video_uri(content_id, "avi" if kind == "unsupported_codec" else "mp4")
        path = landing_root / uri
        if kind is None:
            _write(path, encode_video(frames))
            videos[content_id] = {
                "uri": uri,
                "frames": plan.frames,
                "fps": FPS,
                "width": WIDTH,
                "height": HEIGHT,
                "shot_starts": plan.shot_starts,
            }
        elif kind == "truncated":
            data = encode_video(frames)
            _write(path, data[: len(data) * 6 // 10])
        elif kind == "empty_file":
            _write(path, b"")
        elif kind == "not_a_video":
            _write(path, b"This is not a video, only text named like one.\n")
        elif kind == "unsupported_codec":
            _write(path, _unknown_codec_avi(frames))
        elif kind == "missing_file":
            path.unlink(missing_ok=True)
        record["video_uri"] = uri

        poster_path = landing_root / POSTER_FOLDER / f"{content_id}.png"
        if content_id in bad_posters:
            _write(poster_path, b"Not a picture.\n")
        else:
            _write(poster_path, encode_png(poster_image(seed, record, look_noise)))
            posters[content_id] = {"uri": poster_uri(content_id)}
        record["poster_uri"] = poster_uri(content_id)
    return {
        "items": len(records),
        "videos": videos,
        "posters": posters,
        "bad_videos": bad_videos,
        "bad_posters": bad_posters,
        "styles": {r["content_id"]: item_style(seed, r["content_id"]) for r in records},
        "looks": {r["content_id"]: look_genre(seed, r, look_noise) for r in records},
    }
