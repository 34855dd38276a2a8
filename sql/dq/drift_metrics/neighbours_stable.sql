-- severity: warn
-- kind: row
-- description: the neighbour lists of the run date's snapshot overlap the previous snapshot's at least as much as drift.warn.neighbour_overlap
-- The one metric that warns below its threshold: a low overlap means moved answers.
select concat(feature, ' ', metric, '=', format_number(value, 4)) as drifted
from drift_metrics
where run_date = {run_date} and subject = 'index_snapshot' and value < warn_threshold
