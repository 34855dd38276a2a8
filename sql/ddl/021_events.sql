-- Silver: typed, validated, de-duplicated events. A run replaces exactly the rows it
-- ingested (_ingest_date), so late events sit in their own event_date partition.
create table if not exists events (
  event_id string not null,
  user_id string not null,
  content_id string not null,
  event_type string not null,
  event_ts timestamp not null,
  event_date date not null,
  watch_seconds double,
  device string,
  _ingest_date date not null
)
using delta
partitioned by (event_date)
-- CHECK constraints live in the table's metadata (the Delta protocol keeps them as
-- delta.constraints.* properties): a write that breaks one fails as a whole.
tblproperties (
  'delta.constraints.event_type_known' =
    "event_type in ('impression', 'play', 'pause', 'complete', 'click', 'like', 'share')",
  'delta.constraints.watch_seconds_non_negative' = "watch_seconds is null or watch_seconds >= 0"
)
comment 'Viewer events, unique by event_id';
