-- severity: quarantine
-- kind: row
-- description: a single event never claims more than a day of watching
select event_id, watch_seconds from events
where _ingest_date = {run_date} and watch_seconds > 86400
