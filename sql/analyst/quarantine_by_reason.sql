-- What was quarantined, per table, ingest date and reason (with one example key each).
select
  'content' as source_table,
  _ingest_date,
  reason,
  count(*) as rows_quarantined,
  min(record_key) as example_key
from content_quarantine
group by _ingest_date, reason

union all

select
  'events' as source_table,
  _ingest_date,
  reason,
  count(*) as rows_quarantined,
  min(record_key) as example_key
from events_quarantine
group by _ingest_date, reason

order by _ingest_date, source_table, rows_quarantined desc
