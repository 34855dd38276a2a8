-- severity: warn
-- description: watch time does not exceed the item's duration by more than a minute
select e.event_id, e.watch_seconds, c.duration_seconds
from events as e
inner join content as c
  on e.content_id = c.content_id
where e._ingest_date = {run_date}
  and c.duration_seconds > 0
  and e.watch_seconds > c.duration_seconds + 60
