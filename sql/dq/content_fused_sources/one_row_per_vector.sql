-- severity: fail
-- kind: unique
-- description: one provenance row per fused vector (content_id and model version)
select content_id, model_version, count(*) as copies
from content_fused_sources
group by content_id, model_version
having count(*) > 1
