-- severity: warn
-- kind: row
-- description: event ids follow the upstream format e<yyyyMMdd><7 digits>
select event_id from events
where _ingest_date = {run_date} and not event_id rlike '^e[0-9]{8}[0-9]{7}$'
