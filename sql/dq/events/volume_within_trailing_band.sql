-- severity: warn
-- description: the run date's event count lies within mean +- 3 sd of the previous 28 runs (after 3 runs)
-- observe: select count(*) from events where _ingest_date = {run_date}
-- The band is never narrower than 5% of the mean: a perfectly steady history would
-- otherwise flag a one-row change.
with history as (
  select observed_value
  from dq_results
  where table_name = 'events'
    and check_name = 'volume_within_trailing_band'
    and run_date < {run_date}
    and run_date >= date_sub({run_date}, 28)
    and observed_value is not null
),

band as (
  select avg(observed_value) as mean, stddev_samp(observed_value) as sd, count(*) as runs
  from history
),

today as (
  select count(*) as rows_today from events where _ingest_date = {run_date}
)

select cast(today.rows_today as string) as rows_today, band.mean, band.sd, band.runs
from today
cross join band
where band.runs >= 3
  and abs(today.rows_today - band.mean) > 3 * greatest(coalesce(band.sd, 0), 0.05 * band.mean)
