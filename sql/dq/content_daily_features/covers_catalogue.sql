-- severity: fail
-- description: the run date's features have a row for every catalogue item
select c.content_id
from content as c
left anti join (
  select content_id from content_daily_features where feature_date = {run_date}
) as f
  on c.content_id = f.content_id
