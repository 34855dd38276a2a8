-- severity: warn
-- description: every poster and video the catalogue names has a status
with named as (
  select content_id, 'poster' as media_kind from content where poster_uri is not null
  union all
  select content_id, 'video' as media_kind from content where video_uri is not null
)

select n.content_id, n.media_kind
from named as n
left anti join content_media_status as s
  on n.content_id = s.content_id
  and n.media_kind = s.media_kind
