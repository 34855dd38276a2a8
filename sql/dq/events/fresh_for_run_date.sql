-- severity: warn
-- kind: aggregate
-- description: the run date's ingest holds events from its last 6 hours (upstream is not lagging)
select max(event_ts) as newest_event_ts from events
where _ingest_date = {run_date}
having newest_event_ts is null
  or newest_event_ts < timestamp(date_add({run_date}, 1)) - interval 6 hours
