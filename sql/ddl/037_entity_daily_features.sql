-- Gold: content_daily_features per work (canonical_id of content_entities for the same
-- date): the events of every member count for the work. Written by resolve_entities.
create table if not exists entity_daily_features (
  canonical_id string not null,
  members int not null,
  feature_date date not null,
  views_1d bigint not null,
  views_7d bigint not null,
  views_28d bigint not null,
  unique_viewers_7d bigint not null,
  unique_viewers_28d bigint not null,
  completion_rate_28d double,
  mean_watch_fraction_28d double,
  click_through_rate_28d double,
  days_since_last_view int,
  days_since_release int
)
using delta
partitioned by (feature_date)
comment 'Daily features per entity (canonical id): behaviour of all its copies together';
