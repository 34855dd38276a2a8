-- severity: warn
-- kind: row
-- description: nothing is released after the catalogue last updated it plus a year
select content_id, release_date, updated_at from content
where release_date > date_add(to_date(updated_at), 366)
