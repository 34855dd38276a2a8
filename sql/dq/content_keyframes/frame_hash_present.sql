-- severity: fail
-- kind: row
-- description: every keyframe has the sha256 (64 hex digits) of its decoded pixels
select content_id, kind, shot_index, keyframe_index from content_keyframes
where frame_hash is null or not frame_hash rlike '^[0-9a-f]{64}$'
