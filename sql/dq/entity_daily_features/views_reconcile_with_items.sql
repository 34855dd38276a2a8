-- severity: fail
-- description: the works' views add up to the items' views of the run date (when build_features ran for it)
with items as (
  select count(*) as rows, sum(views_1d) as views_1d, sum(views_28d) as views_28d
  from content_daily_features
  where feature_date = {run_date}
),
works as (
  select sum(views_1d) as views_1d, sum(views_28d) as views_28d
  from entity_daily_features
  where feature_date = {run_date}
)
select
  items.views_1d as item_views_1d,
  works.views_1d as work_views_1d,
  items.views_28d as item_views_28d,
  works.views_28d as work_views_28d
from items cross join works
where items.rows > 0
  and (items.views_1d != coalesce(works.views_1d, 0) or items.views_28d != coalesce(works.views_28d, 0))
