-- severity: fail
-- kind: row
-- description: each block of a fused vector the run wrote is the item's own vector or filled, never both, and has a model version
select content_id, model_version
from content_fused_sources
where embedded_date = {run_date}
  and (
    size(array_intersect(modalities, imputed)) > 0
    or size(array_union(modalities, imputed)) != size(map_keys(modality_versions))
    or size(array_except(array_union(modalities, imputed), map_keys(modality_versions))) > 0
  )
