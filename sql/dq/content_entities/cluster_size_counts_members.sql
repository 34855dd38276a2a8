-- severity: fail
-- kind: group
-- description: cluster_size is the number of ids sharing the canonical id, on each of them
select canonical_id, count(*) as members, min(cluster_size) as smallest, max(cluster_size) as largest
from content_entities
where resolved_date = {run_date}
group by canonical_id
having min(cluster_size) != count(*) or max(cluster_size) != count(*)
