-- severity: warn
-- kind: row
-- description: the event-type and device mix's PSI and Jensen-Shannon divergence against the trailing baseline stay within drift.warn
select concat(feature, ' ', metric, '=', format_number(value, 4)) as drifted
from drift_metrics
where run_date = {run_date} and subject = 'events' and value > warn_threshold
