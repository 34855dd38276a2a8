-- Bronze: every behavioural event row as strings, before any typing or validation.
create table if not exists bronze_events (
  event_id string,
  user_id string,
  content_id string,
  event_type string,
  event_ts string,
  watch_seconds string,
  device string,
  _corrupt_record string,
  source_file string not null,
  _ingest_date date not null
)
using delta
partitioned by (_ingest_date)
comment 'Raw event CSV rows as strings, one row per landing row';
