-- severity: fail
-- description: the run date's entity features hold one row per canonical id, and one for each entity
with features as (
  select canonical_id from entity_daily_features where feature_date = {run_date}
),
entities as (
  select distinct canonical_id from content_entities where resolved_date = {run_date}
),
repeated as (
  select canonical_id, 'repeated' as problem from features
  group by canonical_id having count(*) > 1
),
missing as (
  select e.canonical_id, 'missing' as problem
  from entities as e left anti join features as f on e.canonical_id = f.canonical_id
)
select canonical_id, problem from repeated
union all
select canonical_id, problem from missing
