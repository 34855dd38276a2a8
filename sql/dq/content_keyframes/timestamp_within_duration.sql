-- severity: fail
-- kind: row
-- description: a video keyframe lies inside its video; a poster has no time
-- The rows this run wrote (extract_keyframes stamps inserted and replaced rows with the run
-- date): earlier rows were judged by the run that wrote them, and no run reads every image.
select content_id, shot_index, keyframe_index, timestamp_seconds from content_keyframes
where extracted_date = {run_date}
  and ((kind = 'keyframe' and (timestamp_seconds is null or timestamp_seconds < 0
      or timestamp_seconds >= media_duration_seconds))
    or (kind = 'poster' and timestamp_seconds is not null))
