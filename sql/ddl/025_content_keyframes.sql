-- Silver: the images that represent each item's look, written by extract_keyframes.
-- One row per keyframe of a video (kind 'keyframe': shot_index >= 0, keyframe_index within
-- the shot) and one per poster (kind 'poster': shot_index -1, keyframe_index 0, no
-- timestamp). The image-embedding UDF reads content_id, kind, image, frame_hash and
-- media_input_hash: keep those names stable.
--   frame_hash        sha256 (hex) of the decoded RGB pixels at full size, before encoding
--   image             the frame as a small PNG (or JPEG, media.keyframe_format), longer side
--                     at most media.keyframe_max_side
--   media_input_hash  fingerprint of the media file (resolved URI, size, modification time):
--                     an item is decoded again only when it or detector_version changes
--   detector_version  shot detector, its settings and the extraction code version
-- Key: content_id, kind, shot_index, keyframe_index, detector_version. An item's rows are
-- replaced together when its media changes (one MERGE, docs/media.md).
create table if not exists content_keyframes (
  content_id string not null,
  kind string not null,
  shot_index int not null,
  keyframe_index int not null,
  frame_index int,
  timestamp_seconds double,
  media_duration_seconds double,
  frame_hash string not null,
  image binary not null,
  image_format string not null,
  width int not null,
  height int not null,
  source_uri string not null,
  media_input_hash string not null,
  detector_version string not null,
  extracted_date date not null
)
using delta
tblproperties (
  'delta.constraints.kind_known' = "kind in ('poster', 'keyframe')",
  'delta.constraints.poster_has_no_shot' = "kind = 'keyframe' or shot_index = -1",
  'delta.constraints.size_positive' = "width > 0 and height > 0"
)
comment 'Keyframes of each shot of the catalogue videos, and posters, as small images';

-- Silver: per item, media kind and detector version, how its media fared in the last run
-- that looked at it: status 'ok' (it has keyframe rows) or the reason it has none
-- (contentlake.contract.MEDIA_STATUSES). Key: content_id, media_kind, detector_version.
create table if not exists content_media_status (
  content_id string not null,
  media_kind string not null,
  source_uri string not null,
  resolved_uri string,
  media_input_hash string not null,
  detector_version string not null,
  status string not null,
  detail string,
  codec string,
  width int,
  height int,
  duration_seconds double,
  frames_decoded int,
  shots int,
  keyframes int not null,
  keyframe_limit int not null,
  checked_date date not null,
  run_id string not null
)
using delta
tblproperties (
  'delta.constraints.media_kind_known' = "media_kind in ('poster', 'video')",
  'delta.constraints.status_known' = "status in ('ok', 'missing_file', 'empty_file', 'invalid_uri', 'truncated', 'not_a_video', 'not_an_image', 'unsupported_codec', 'decode_error', 'no_frames')"
)
comment 'Media of each item: ok, or why it gave no keyframes (missing, truncated, ...)';
