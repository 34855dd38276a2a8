-- severity: fail
-- kind: unique
-- description: one row per item, kind, shot, keyframe and detector version
select content_id, kind, shot_index, keyframe_index, detector_version, count(*) as copies
from content_keyframes
group by content_id, kind, shot_index, keyframe_index, detector_version
having count(*) > 1
