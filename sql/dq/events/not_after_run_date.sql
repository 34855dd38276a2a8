-- severity: fail
-- kind: row
-- description: events ingested for the run date happened no later than the day after it
select event_id, event_ts from events
where _ingest_date = {run_date} and event_date > date_add({run_date}, 1)
