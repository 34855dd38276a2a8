-- severity: fail
-- kind: row
-- description: every vector the run wrote has the dimension of all vectors of its model version
-- The run's vectors against the (model version, dimension) pairs of the whole table, a few
-- rows: two dimensions under one version show on the run that wrote the second.
select content_id, model_version, dim from content_embeddings
where embedded_date = {run_date}
  and exists (
    select 1
    from (select distinct model_version, dim from content_embeddings) as stored
    where stored.model_version = content_embeddings.model_version
      and stored.dim != content_embeddings.dim
  )
