-- severity: warn
-- kind: row
-- description: devices are tv, mobile, web or tablet (a new one needs a look, not a stop)
select event_id, device from events
where _ingest_date = {run_date}
  and (device is null or device not in ('tv', 'mobile', 'web', 'tablet'))
