-- severity: fail
-- kind: unique
-- description: the content table holds exactly one row per content_id
select content_id, count(*) as copies
from content
group by content_id
having count(*) > 1
