-- severity: fail
-- kind: row
-- description: view and viewer counts are never negative or null
select content_id from content_daily_features
where feature_date = {run_date}
  and (
    coalesce(views_1d, -1) < 0 or coalesce(views_28d, -1) < 0 or coalesce(unique_viewers_28d, -1) < 0
  )
