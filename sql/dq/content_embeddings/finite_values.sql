-- severity: fail
-- kind: row
-- description: vectors hold no NaN or infinite values
select content_id from content_embeddings
where exists(embedding, x -> isnan(x) or abs(x) = double('inf'))
