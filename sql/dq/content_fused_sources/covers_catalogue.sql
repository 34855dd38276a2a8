-- severity: warn
-- description: every catalogue item has a fused vector, so some embedding of some modality
-- Checked on the fused table, not on content_embeddings: the three embedding jobs write that
-- table in whatever order a scheduler runs them, and fuse_vectors runs after all three.
select c.content_id
from content as c
left anti join content_fused_sources as f
  on c.content_id = f.content_id
