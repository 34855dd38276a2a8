-- severity: fail
-- description: vectors are finite and L2-normalised (inner product search relies on it)
select content_id, norm
from (
  select
    content_id,
    sqrt(aggregate(embedding, cast(0 as double), (acc, x) -> acc + x * x)) as norm,
    exists(embedding, x -> isnan(x) or abs(x) = double('inf')) as has_non_finite
  from content_embeddings
)
where has_non_finite or abs(norm - 1.0) > 1e-3 or norm is null
