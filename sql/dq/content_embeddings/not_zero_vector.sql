-- severity: fail
-- kind: row
-- description: no vector is all zeros (the model saw no input)
select content_id from content_embeddings
where forall(embedding, x -> x = 0)
