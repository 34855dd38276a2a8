-- Gold: every catalogue item -> the canonical id of its work, per run date (jobs/
-- resolve_entities.py, docs/entities.md). One row per (resolved_date, content_id); a rerun
-- of a date replaces its rows in one commit. Read "as of the run" by resolved_date.
--   canonical_id      the id the work is known by: a member of its cluster
--   cluster_size      items in the cluster (1: no duplicate)
--   match_rule        the strongest rule among the item's accepted pairs (null alone)
--   canonical_rule    how canonical_id was chosen: singleton, kept_previous (it was the
--                     canonical id on the last earlier run date), smallest_id
--   review            the cluster is flagged: review_reason large_cluster (above
--                     entities.review_cluster_size) or mixed_content_types (split by type)
--   max_cluster_size  the size guard in force; sql/dq/content_entities fails above it
create table if not exists content_entities (
  resolved_date date not null,
  content_id string not null,
  canonical_id string not null,
  content_type string not null,
  cluster_size int not null,
  match_rule string,
  canonical_rule string not null,
  review boolean not null,
  review_reason string,
  max_cluster_size int not null
)
using delta
partitioned by (resolved_date)
tblproperties (
  'delta.constraints.cluster_size_positive' = "cluster_size >= 1",
  'delta.constraints.canonical_rule_known' =
    "canonical_rule in ('singleton', 'kept_previous', 'smallest_id')"
)
comment 'Entity resolution: each content id and the canonical id of its work, per run date';
