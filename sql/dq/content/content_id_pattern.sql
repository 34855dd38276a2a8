-- severity: warn
-- kind: row
-- description: content ids follow the upstream format c<6 digits>
select content_id from content
where not content_id rlike '^c[0-9]{6}$'
