-- severity: fail
-- kind: unique
-- description: the run date's entities hold one row per content_id
select content_id, count(*) as copies
from content_entities
where resolved_date = {run_date}
group by content_id
having count(*) > 1
