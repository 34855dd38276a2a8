-- severity: warn
-- description: at most 10% of the run date's landing event rows are quarantined
with landed as (
  select count(*) as rows_in
  from bronze_events
  where _ingest_date = {run_date}
),

quarantined as (
  select count(*) as rows_quarantined
  from events_quarantine
  where _ingest_date = {run_date}
)

select cast({run_date} as string) as ingest_date, landed.rows_in, quarantined.rows_quarantined
from landed
cross join quarantined
where quarantined.rows_quarantined > 0.1 * landed.rows_in
