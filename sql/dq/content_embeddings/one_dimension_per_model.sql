-- severity: fail
-- kind: group
-- description: all vectors of one model version share one dimension
select model_version, count(distinct dim) as dimensions
from content_embeddings
group by model_version
having count(distinct dim) > 1
