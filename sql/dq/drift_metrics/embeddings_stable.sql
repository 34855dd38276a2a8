-- severity: warn
-- kind: row
-- description: the mean vector's cosine shift and the share of changed vectors since the previous run stay within drift.warn
select concat(feature, ' ', metric, '=', format_number(value, 4)) as drifted
from drift_metrics
where run_date = {run_date} and subject = 'content_embeddings' and value > warn_threshold
