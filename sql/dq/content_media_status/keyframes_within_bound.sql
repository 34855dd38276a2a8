-- severity: fail
-- description: no item has more video keyframes than the bound its run applied
with counted as (
  select content_id, detector_version, count(*) as keyframes
  from content_keyframes
  where kind = 'keyframe'
  group by content_id, detector_version
)

select c.content_id, c.keyframes, s.keyframe_limit
from counted as c
inner join content_media_status as s
  on c.content_id = s.content_id
  and c.detector_version = s.detector_version
  and s.media_kind = 'video'
where c.keyframes > s.keyframe_limit
