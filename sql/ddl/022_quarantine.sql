-- Rows that failed validation, with the reason, the raw record and where it came from.
-- check_name names the sql/dq check of a row a quarantine-severity check moved aside
-- (null for the ingest's own validation rules).
create table if not exists content_quarantine (
  reason string not null,
  record_key string,
  raw_record string,
  source_file string,
  check_name string,
  _ingest_date date not null
)
using delta
partitioned by (_ingest_date)
comment 'Catalogue rows rejected by ingest_catalog';

create table if not exists events_quarantine (
  reason string not null,
  record_key string,
  raw_record string,
  source_file string,
  check_name string,
  _ingest_date date not null
)
using delta
partitioned by (_ingest_date)
comment 'Event rows rejected by ingest_events';
