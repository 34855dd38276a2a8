-- severity: fail
-- kind: row
-- description: every vector has the dimension recorded beside it
select content_id, dim from content_embeddings
where embedding is null or size(embedding) != dim
