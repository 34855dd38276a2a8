-- Top 20 items by 7-day views on the latest feature date, with engagement rates.
with latest as (
  select max(feature_date) as feature_date
  from content_daily_features
),

ranked as (
  select
    f.content_id,
    c.title,
    c.content_type,
    array_join(c.genres, ', ') as genres,
    f.views_7d,
    f.unique_viewers_7d,
    round(f.completion_rate_28d, 3) as completion_rate_28d,
    round(f.click_through_rate_28d, 3) as click_through_rate_28d
  from content_daily_features as f
  inner join latest
    on f.feature_date = latest.feature_date
  inner join content as c
    on f.content_id = c.content_id
)

select *
from ranked
order by views_7d desc, content_id
limit 20
