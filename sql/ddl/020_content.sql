-- Silver: the latest version of each catalogue item (MERGE on content_id by updated_at).
create table if not exists content (
  content_id string not null,
  content_type string not null,
  title string not null,
  description string,
  genres array<string>,
  tags array<string>,
  language string,
  duration_seconds int,
  release_date date,
  updated_at timestamp not null,
  series_id string,
  -- Optional media references, resolved by extract_keyframes (docs/media.md).
  poster_uri string,
  video_uri string,
  _ingest_date date not null
)
using delta
-- CHECK constraints (see 021_events.sql): a write that breaks one fails as a whole.
-- The Change Data Feed lets embed_content read only the rows changed since its last run
-- (contentlake/embedding_changes.py); maintain_tables turns it on for older tables.
tblproperties (
  'delta.enableChangeDataFeed' = 'true',
  'delta.constraints.content_type_known' = "content_type in ('movie', 'series', 'episode', 'clip')",
  'delta.constraints.duration_non_negative' = "duration_seconds is null or duration_seconds >= 0"
)
comment 'Current catalogue: one row per content_id, latest updated_at wins';
