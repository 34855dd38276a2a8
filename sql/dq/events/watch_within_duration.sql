-- severity: warn
-- kind: row
-- description: watch time does not exceed the item's duration by more than a minute
-- A row check with a correlated EXISTS (one catalogue row per content_id): it is counted in
-- the events scan beside the other row checks instead of joining the day's events again.
select event_id, watch_seconds from events
where _ingest_date = {run_date}
  and exists (
    select 1 from content as c
    where c.content_id = events.content_id
      and c.duration_seconds > 0
      and events.watch_seconds > c.duration_seconds + 60
  )
