-- severity: fail
-- kind: unique
-- description: one vector per content_id and model version
select content_id, modality, model_version, count(*) as copies
from content_embeddings
group by content_id, modality, model_version
having count(*) > 1
