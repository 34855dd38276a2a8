-- severity: warn
-- description: the distribution of 28-day mean watch fraction (10 bins) shifts little from the previous feature date (PSI below 0.2)
with binned as (
  select
    feature_date,
    least(cast(floor(coalesce(mean_watch_fraction_28d, 0) * 10) as int), 9) as bin
  from content_daily_features
  where feature_date = {run_date}
     or feature_date = (
       select max(feature_date) from content_daily_features where feature_date < {run_date}
     )
),

counts as (
  select
    bin,
    count_if(feature_date = {run_date}) as now_items,
    count_if(feature_date != {run_date}) as before_items
  from binned
  group by bin
),

shares as (
  select
    greatest(try_divide(now_items, sum(now_items) over ()), 1e-4) as now,
    greatest(try_divide(before_items, sum(before_items) over ()), 1e-4) as before,
    sum(before_items) over () as before_total,
    sum(now_items) over () as now_total
  from counts
)

select format_number(sum((now - before) * ln(now / before)), 4) as psi
from shares
having sum((now - before) * ln(now / before)) > 0.2
  -- the first feature date has nothing to compare
  and max(before_total) > 0
  and max(now_total) > 0
