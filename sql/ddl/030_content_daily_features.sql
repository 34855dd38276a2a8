-- Gold: one row per content item and day, computed from events up to feature_date.
create table if not exists content_daily_features (
  content_id string not null,
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
comment 'Daily content features over 1/7/28-day windows ending at feature_date';
