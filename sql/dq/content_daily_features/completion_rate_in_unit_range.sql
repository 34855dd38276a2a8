-- severity: fail
-- kind: row
-- description: the completion rate lies in [0, 1] (completes count only up to each viewer's plays)
-- Fail, not warn: the rate is bounded by construction, so a value outside means the feature
-- definition broke, and models must not train on it.
select content_id, completion_rate_28d from content_daily_features
where feature_date = {run_date}
  and completion_rate_28d not between 0 and 1
