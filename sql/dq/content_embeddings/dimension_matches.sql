-- severity: fail
-- description: every vector has the dimension recorded beside it, one dimension per model
select content_id, dim, size(embedding) as actual_dim
from content_embeddings
where size(embedding) != dim
   or dim != (select max(dim) from content_embeddings as e where e.model_version = content_embeddings.model_version)
