-- severity: fail
-- kind: row
-- description: every vector the run wrote has the dimension recorded beside it
select content_id, dim from content_embeddings
where embedded_date = {run_date} and (embedding is null or size(embedding) != dim)
