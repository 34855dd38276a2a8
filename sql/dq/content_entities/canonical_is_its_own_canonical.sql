-- severity: fail
-- kind: group
-- description: each canonical id is a member of its entity and maps to itself
select canonical_id, count(*) as members
from content_entities
where resolved_date = {run_date}
group by canonical_id
having count_if(content_id = canonical_id) = 0
