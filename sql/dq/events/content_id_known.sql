-- severity: fail
-- description: every event ingested for the run date refers to a catalogue item
select e.event_id, e.content_id
from events as e
left anti join content as c
  on e.content_id = c.content_id
where e._ingest_date = {run_date}
