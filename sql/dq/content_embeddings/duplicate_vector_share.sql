-- severity: warn
-- description: at most 2% of vectors exactly repeat another item's vector
with copies as (
  select embedding, count(*) as items
  from content_embeddings
  group by embedding
)

select format_number(sum(items - 1) / sum(items), 4) as duplicate_share
from copies
having sum(items - 1) > 0.02 * sum(items)
