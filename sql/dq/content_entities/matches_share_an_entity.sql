-- severity: fail
-- description: the two ids of every accepted pair share a canonical id, unless their cluster was split by type
with entities as (
  select content_id, canonical_id, review_reason
  from content_entities
  where resolved_date = {run_date}
)
select p.left_id, p.right_id
from content_match_pairs as p
join entities as l on p.left_id = l.content_id
join entities as r on p.right_id = r.content_id
where p.resolved_date = {run_date}
  and p.decision = 'match'
  and l.canonical_id != r.canonical_id
  and coalesce(l.review_reason, '') != 'mixed_content_types'
