-- severity: warn
-- kind: aggregate
-- description: the catalogue saw an update within the 3 days up to the run date
select max(updated_at) as newest_update from content
having newest_update is null or newest_update < timestamp(date_sub({run_date}, 2))
