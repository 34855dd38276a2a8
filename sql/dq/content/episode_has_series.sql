-- severity: warn
-- kind: row
-- description: episodes name the series they belong to
select content_id from content
where content_type = 'episode' and series_id is null
