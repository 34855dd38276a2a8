-- severity: fail
-- kind: row
-- description: every event has one of the seven known event types
select event_id, event_type from events
where _ingest_date = {run_date}
  and event_type not in ('impression', 'play', 'pause', 'complete', 'click', 'like', 'share')
