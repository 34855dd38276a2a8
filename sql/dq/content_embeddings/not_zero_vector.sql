-- severity: fail
-- kind: row
-- description: no vector the run wrote is all zeros (the model saw no input)
select content_id from content_embeddings
where embedded_date = {run_date} and forall(embedding, x -> x = 0)
