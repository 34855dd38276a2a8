-- severity: warn
-- kind: aggregate
-- observe: rows_today
-- description: the run date's event count lies within mean +- 3 sd of the previous 28 runs (after 3 runs)
-- The count comes from the events scan shared with the row checks; the band from the
-- counts earlier successful runs observed (one per run date, whichever job or on-demand
-- run saw it; a run stopped by its gate had its rows undone, so its count is no history).
-- It is never narrower than 5% of the mean: a steady history would flag a one-row change.
select count(*) as rows_today from events
where _ingest_date = {run_date}
having exists (
  select 1
  from (
    select avg(rows) as mean, stddev_samp(rows) as sd, count(*) as runs
    from (
      select run_date, max(observed_value) as rows
      from dq_results
      where table_name = 'events'
        and check_name = 'volume_within_trailing_band'
        and run_date < {run_date}
        and run_date >= date_sub({run_date}, 28)
        and observed_value is not null
        and run_status = 'succeeded'
      group by run_date
    )
  ) as band
  where band.runs >= 3
    and abs(rows_today - band.mean) > 3 * greatest(coalesce(band.sd, 0), 0.05 * band.mean)
)
