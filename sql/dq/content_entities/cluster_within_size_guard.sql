-- severity: fail
-- kind: group
-- description: no entity has more members than entities.max_cluster_size (a chain of bad matches)
select canonical_id, count(*) as members, max(max_cluster_size) as size_guard
from content_entities
where resolved_date = {run_date}
group by canonical_id
having count(*) > max(max_cluster_size)
