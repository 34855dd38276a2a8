-- severity: fail
-- description: every catalogue item has an entity row for the run date, and every entity row a catalogue item
with entities as (
  select content_id from content_entities where resolved_date = {run_date}
),
unmapped as (
  select c.content_id, 'no entity row' as problem
  from content as c
  left anti join entities as e on c.content_id = e.content_id
),
unknown as (
  select e.content_id, 'not in the catalogue' as problem
  from entities as e
  left anti join content as c on e.content_id = c.content_id
)
select content_id, problem from unmapped
union all
select content_id, problem from unknown
