-- severity: warn
-- kind: row
-- description: no daily feature's PSI or Jensen-Shannon divergence against the trailing baseline exceeds its drift.warn threshold
-- warn_threshold is the configured level stored with each metric when it was computed, so
-- the history keeps the threshold it was judged by; a null value (no baseline) passes.
select concat(feature, ' ', metric, '=', format_number(value, 4)) as drifted
from drift_metrics
where run_date = {run_date} and subject = 'content_daily_features' and value > warn_threshold
