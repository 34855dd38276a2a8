-- severity: fail
-- kind: unique
-- description: the run date's features hold one row per content_id
select content_id, count(*) as copies
from content_daily_features
where feature_date = {run_date}
group by content_id
having count(*) > 1
