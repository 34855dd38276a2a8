-- severity: fail
-- kind: row
-- description: every keyframe has the sha256 (64 hex digits) of its decoded pixels
-- The rows this run wrote (extract_keyframes stamps inserted and replaced rows with the run
-- date): earlier rows were judged by the run that wrote them, and no run reads every image.
select content_id, kind, shot_index, keyframe_index from content_keyframes
where extracted_date = {run_date}
  and (frame_hash is null or not frame_hash rlike '^[0-9a-f]{64}$')
