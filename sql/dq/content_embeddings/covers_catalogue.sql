-- severity: warn
-- description: every catalogue item has an embedding
select c.content_id
from content as c
left anti join content_embeddings as e
  on c.content_id = e.content_id
