-- Gold: what each fused vector (content_embeddings, modality 'fused') was made of, written
-- by fuse_vectors beside the vector. Key: content_id, model_version (the fused version).
--   modalities         the item's own per-modality vectors in the fused vector
--   imputed            modalities the item lacks, filled with its group's mean vector
--                      (fusion.missing: group_mean, docs/multimodal.md)
--   modality_versions  modality -> model version of every block
--   weights            modality -> share of the fused cosine
create table if not exists content_fused_sources (
  content_id string not null,
  model_version string not null,
  modalities array<string> not null,
  imputed array<string> not null,
  modality_versions map<string, string> not null,
  weights map<string, double> not null,
  projection_dim int,
  input_hash string not null,
  embedded_date date not null
)
using delta
tblproperties (
  'delta.constraints.uses_a_modality' = "size(modalities) > 0"
)
comment 'Per fused vector: the modalities it used, those filled in, and their model versions';
