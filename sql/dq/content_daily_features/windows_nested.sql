-- severity: fail
-- kind: row
-- description: a longer window never counts fewer views or viewers than a shorter one
select content_id, views_1d, views_7d, views_28d from content_daily_features
where feature_date = {run_date}
  and (
    views_1d > views_7d
    or views_7d > views_28d
    or unique_viewers_7d > unique_viewers_28d
    or unique_viewers_28d > views_28d
  )
