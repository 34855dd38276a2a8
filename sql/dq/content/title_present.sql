-- severity: fail
-- kind: row
-- description: every catalogue item has a non-blank title
select content_id from content
where title is null or trim(title) = ''
