-- severity: fail
-- kind: unique
-- description: one row per item, kind, shot, keyframe and detector version
-- The run's own rows: a MERGE on this key inserts only keys the table lacks and refuses a
-- source that repeats one, so a copy can only come from the rows a run wrote.
select content_id, kind, shot_index, keyframe_index, detector_version, count(*) as copies
from content_keyframes
where extracted_date = {run_date}
group by content_id, kind, shot_index, keyframe_index, detector_version
having count(*) > 1
