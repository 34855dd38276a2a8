-- Gold: one vector per content item and modality, tagged with the model that made it.
create table if not exists content_embeddings (
  content_id string not null,
  modality string not null,
  model_name string not null,
  model_version string not null,
  dim int not null,
  input_hash string not null,
  embedding array<float> not null,
  embedded_date date not null
)
using delta
tblproperties ('delta.constraints.dim_positive' = "dim > 0")
comment 'L2-normalised content embeddings, re-embedded only when input or model changes';
