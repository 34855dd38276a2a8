-- Data-quality history: per check, how often it ran, warned, quarantined rows and failed,
-- its last result and, for checks that observe a value, the last observation. Kind and
-- severity are those of the latest check run, so a check whose file changed them keeps one row.
select
  table_name,
  check_name,
  max_by(check_kind, checked_at) as check_kind,
  max_by(severity, checked_at) as severity,
  count(*) as runs,
  count_if(status = 'warn') as warned,
  count_if(status = 'quarantined') as quarantined_runs,
  count_if(status = 'fail') as failed,
  max_by(status, run_date) as last_status,
  max_by(violation_count, run_date) as last_violations,
  max_by(observed_value, run_date) as last_observed_value,
  max(run_date) as last_run_date
from dq_results
group by table_name, check_name
order by failed desc, quarantined_runs desc, warned desc, table_name, check_name
