-- Data-quality history: per check, how often it ran, warned and failed, and its last result.
select
  table_name,
  check_name,
  severity,
  count(*) as runs,
  count_if(status = 'warn') as warned,
  count_if(status = 'fail') as failed,
  max_by(status, run_date) as last_status,
  max_by(violation_count, run_date) as last_violations,
  max(run_date) as last_run_date
from dq_results
group by table_name, check_name, severity
order by failed desc, warned desc, table_name, check_name
