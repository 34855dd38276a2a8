-- severity: fail
-- description: each canonical id is a member of its entity and maps to itself
with entities as (
  select content_id, canonical_id from content_entities where resolved_date = {run_date}
)
select e.content_id, e.canonical_id
from entities as e
left anti join entities as c
  on e.canonical_id = c.content_id and c.canonical_id = c.content_id
