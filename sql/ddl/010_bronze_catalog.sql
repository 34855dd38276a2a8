-- Bronze: every catalogue landing line exactly as it arrived, malformed JSON included.
create table if not exists bronze_catalog (
  raw_line string not null,
  source_file string not null,
  _ingest_date date not null
)
using delta
partitioned by (_ingest_date)
comment 'Raw catalogue JSON lines, one row per landing line';
