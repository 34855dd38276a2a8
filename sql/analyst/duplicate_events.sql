-- Whole-table audit: every event id stored more than once, with the ingest dates of its
-- copies. The daily gate (sql/dq/events/event_id_unique.sql) judges only the run date's ids.
select
  event_id,
  count(*) as copies,
  sort_array(collect_list(_ingest_date)) as ingest_dates
from events
group by event_id
having count(*) > 1
order by event_id
