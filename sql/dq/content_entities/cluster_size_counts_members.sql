-- severity: fail
-- description: cluster_size is the number of ids sharing the canonical id
with counted as (
  select
    content_id,
    cluster_size,
    count(*) over (partition by canonical_id) as members
  from content_entities
  where resolved_date = {run_date}
)
select content_id, cluster_size, members
from counted
where cluster_size != members
