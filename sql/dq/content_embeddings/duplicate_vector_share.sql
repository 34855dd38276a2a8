-- severity: warn
-- description: at most 2% of the vectors the run wrote exactly repeat another of them
-- A model that maps different inputs to one vector (an empty input, a broken checkpoint)
-- shows among the vectors of the run that used it; comparing them with every stored vector
-- would shuffle the whole table on each run, however few vectors it wrote.
with copies as (
  select embedding, count(*) as items
  from content_embeddings
  where embedded_date = {run_date}
  group by embedding
)

select format_number(sum(items - 1) / sum(items), 4) as duplicate_share
from copies
having sum(items - 1) > 0.02 * sum(items)
