-- severity: fail
-- description: media with status ok have exactly the keyframes counted, any other status none
with counted as (
  select
    content_id,
    detector_version,
    case when kind = 'poster' then 'poster' else 'video' end as media_kind,
    count(*) as rows_found
  from content_keyframes
  group by 1, 2, 3
)

-- Keyframes stored with no status row have only the counted side's key.
select
  coalesce(s.content_id, c.content_id) as content_id,
  coalesce(s.media_kind, c.media_kind) as media_kind,
  s.status,
  s.keyframes,
  coalesce(c.rows_found, 0) as rows_found
from content_media_status as s
full outer join counted as c
  on s.content_id = c.content_id
  and s.detector_version = c.detector_version
  and s.media_kind = c.media_kind
where s.content_id is null
  or (s.status = 'ok' and coalesce(c.rows_found, 0) != s.keyframes)
  or (s.status = 'ok' and s.keyframes = 0)
  or (s.status != 'ok' and coalesce(c.rows_found, 0) > 0)
