-- severity: fail
-- kind: row
-- description: no item has more video keyframes than the bound its run applied
-- Judged on the status row, whose keyframes column reconciles_with_keyframes holds equal to
-- the keyframes stored for it (and to none for a status other than ok): together the two
-- bound what content_keyframes holds, and this one costs no query of its own.
select content_id, keyframes, keyframe_limit from content_media_status
where media_kind = 'video' and keyframes > keyframe_limit
