-- severity: fail
-- kind: row
-- description: events ingested for the run date carry an event, user and content id
select event_id, user_id, content_id from events
where _ingest_date = {run_date}
  and (event_id is null or user_id is null or content_id is null)
