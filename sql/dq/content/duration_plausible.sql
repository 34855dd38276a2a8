-- severity: quarantine
-- kind: row
-- description: a playable item lasts between 1 second and 12 hours
select content_id, duration_seconds from content
where content_type != 'series'
  and (duration_seconds is null or duration_seconds not between 1 and 43200)
