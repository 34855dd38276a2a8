-- Data-quality history: per check, how often it ran, warned, quarantined rows and failed,
-- its last result and, for checks that observe a value, the last observation.
select
  table_name,
  check_name,
  check_kind,
  severity,
  count(*) as runs,
  count_if(status = 'warn') as warned,
  count_if(status = 'quarantined') as quarantined_runs,
  count_if(status = 'fail') as failed,
  max_by(status, run_date) as last_status,
  max_by(violation_count, run_date) as last_violations,
  max_by(observed_value, run_date) as last_observed_value,
  max(run_date) as last_run_date
from dq_results
group by table_name, check_name, check_kind, severity
order by failed desc, quarantined_runs desc, warned desc, table_name, check_name
