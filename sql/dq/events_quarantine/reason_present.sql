-- severity: fail
-- kind: row
-- description: every quarantined row says why
select record_key from events_quarantine
where _ingest_date = {run_date} and (reason is null or trim(reason) = '')
