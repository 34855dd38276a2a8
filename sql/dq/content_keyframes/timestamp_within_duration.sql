-- severity: fail
-- kind: row
-- description: a video keyframe lies inside its video; a poster has no time
select content_id, shot_index, keyframe_index, timestamp_seconds from content_keyframes
where (kind = 'keyframe' and (timestamp_seconds is null or timestamp_seconds < 0
    or timestamp_seconds >= media_duration_seconds))
  or (kind = 'poster' and timestamp_seconds is not null)
