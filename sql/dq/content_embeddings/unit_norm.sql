-- severity: fail
-- kind: row
-- description: the vectors the run wrote are L2-normalised within 1e-3 (inner-product search relies on it)
select content_id from content_embeddings
where embedded_date = {run_date}
  and abs(sqrt(aggregate(embedding, cast(0 as double), (acc, x) -> acc + x * x)) - 1.0) > 1e-3
