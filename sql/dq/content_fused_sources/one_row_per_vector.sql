-- severity: fail
-- kind: unique
-- description: one provenance row per fused vector (content_id and model version)
-- The run's own rows: fuse_vectors MERGEs on this key (see content_embeddings'
-- content_id_unique).
select content_id, model_version, count(*) as copies
from content_fused_sources
where embedded_date = {run_date}
group by content_id, model_version
having count(*) > 1
