-- severity: fail
-- kind: row
-- description: every keyframe carries its encoded image
select content_id, kind, shot_index, keyframe_index from content_keyframes
where image is null or length(image) = 0
