-- severity: fail
-- kind: row
-- description: every drift value is a finite number or null (nothing to compare); NaN or infinity is a bug in the metric
select concat(subject, ' ', feature, ' ', metric) as metric_key
from drift_metrics
where run_date = {run_date}
  and (isnan(value) or value = double('infinity') or value = double('-infinity'))
