-- Time travel: items added or changed since an earlier version of the content table.
-- Pick the version to compare with from `describe history content`.
select
  now_.content_id,
  now_.title,
  case when before_.content_id is null then 'added' else 'changed' end as change,
  before_.updated_at as updated_at_before,
  now_.updated_at as updated_at_now
from content as now_
left join content version as of 1 as before_
  on now_.content_id = before_.content_id
where before_.content_id is null
   or now_.updated_at > before_.updated_at
order by change, now_.content_id
