-- severity: warn
-- description: the catalogue saw an update within the 3 days up to the run date
select cast(max(updated_at) as string) as newest_update
from content
having max(updated_at) is null or max(updated_at) < timestamp(date_sub({run_date}, 2))
