-- severity: fail
-- kind: row
-- description: every event ingested for the run date refers to a catalogue item
-- NOT EXISTS, not NOT IN: NOT IN's null semantics turn the fused scan's subquery into a
-- nested-loop join; the correlated EXISTS plans as a hash existence join.
select event_id, content_id from events
where _ingest_date = {run_date}
  and not exists (select 1 from content as c where c.content_id = events.content_id)
