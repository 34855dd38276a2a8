-- severity: fail
-- kind: group
-- description: an entity never mixes content types (such a cluster is split by type)
select canonical_id, sort_array(collect_set(content_type)) as content_types
from content_entities
where resolved_date = {run_date}
group by canonical_id
having count(distinct content_type) > 1
