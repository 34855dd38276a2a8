-- severity: warn
-- description: the event-type mix shifts little from the previous ingest (PSI below 0.2)
-- PSI = sum over types of (share_now - share_before) * ln(share_now / share_before); a
-- share of zero is floored at 1e-4 so that a type appearing or vanishing counts, finitely.
with current_counts as (
  select event_type, count(*) as events
  from events
  where _ingest_date = {run_date}
  group by event_type
),

previous_counts as (
  select event_type, count(*) as events
  from events
  where _ingest_date = (select max(_ingest_date) from events where _ingest_date < {run_date})
  group by event_type
),

shares as (
  select
    greatest(try_divide(coalesce(c.events, 0), (select sum(events) from current_counts)), 1e-4)
      as now,
    greatest(try_divide(coalesce(p.events, 0), (select sum(events) from previous_counts)), 1e-4)
      as before
  from current_counts as c
  full outer join previous_counts as p
    on c.event_type = p.event_type
)

select format_number(sum((now - before) * ln(now / before)), 4) as psi
from shares
having sum((now - before) * ln(now / before)) > 0.2
  -- the first ingest, or a day with no events, has nothing to compare
  and (select count(*) from previous_counts) > 0
  and (select count(*) from current_counts) > 0
