-- severity: fail
-- description: no event ingested for the run date is stored twice, whichever day ingested the other copy
-- Incremental: only the run's ids are counted. Pairs among earlier ingests were judged by
-- the run that brought their later copy, so a daily run costs a group-by of its own rows
-- plus one pass over the other days' ids, probed by 64-bit hash against a broadcast of the
-- run's hashes (a hash match only nominates a row; the group-by on the id itself decides).
with run_events as (
  select event_id from events where _ingest_date = {run_date}
),

copies_from_other_days as (
  select event_id
  from events
  where _ingest_date <> {run_date}
    and xxhash64(event_id) in (select xxhash64(event_id) from run_events)
)

select event_id, count(*) as copies
from (
  select event_id from run_events
  union all
  select event_id from copies_from_other_days
)
group by event_id
having count(*) > 1
