-- severity: warn
-- kind: row
-- description: click-through and watch fraction lie in [0, 1]
select content_id, click_through_rate_28d, mean_watch_fraction_28d from content_daily_features
where feature_date = {run_date}
  and (
    click_through_rate_28d not between 0 and 1
    or mean_watch_fraction_28d not between 0 and 1
  )
