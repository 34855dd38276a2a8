-- severity: fail
-- kind: unique
-- description: the run date holds one row per subject, metric and feature
select concat(subject, ' ', feature, ' ', metric) as metric_key, count(*) as copies
from drift_metrics
where run_date = {run_date}
group by subject, metric, feature
having count(*) > 1
