-- severity: fail
-- kind: row
-- description: items are movies, series, episodes or clips
select content_id, content_type from content
where content_type not in ('movie', 'series', 'episode', 'clip')
