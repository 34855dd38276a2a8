-- Drift of each run date against its baseline (jobs/measure_drift.py), one row per
-- (run_date, subject, metric, feature); a rerun of a date replaces its rows in one commit.
--   subject content_daily_features, events: psi and js_divergence (base 2) of each feature
--     (events: the event_type and device mix) on the run date against the baseline_days
--     before it, over the baseline's quantile bins;
--   subject content_embeddings: mean_cosine_distance and mean_l2_shift of the mean vector,
--     changed_share (items in both versions whose vector changed) and added_share (items
--     new in the run date's version), between the versions embed_content recorded for the
--     previous run date and for the run date;
--   subject index_snapshot: neighbour_overlap_at_<k> between the snapshots publish_index
--     recorded for the previous run date and for the run date.
-- value is null when there is nothing to compare (no baseline yet). warn_threshold is the
-- configured drift.warn level in force when the row was computed (null: never warns); the
-- checks in sql/dq/drift_metrics warn above it, or below it for the neighbour overlap.
create table if not exists drift_metrics (
  run_date date not null,
  subject string not null,
  metric string not null,
  feature string not null,
  value double,
  warn_threshold double,
  baseline_start date,
  baseline_end date,
  baseline_ref string,
  current_ref string,
  baseline_rows bigint not null,
  current_rows bigint not null,
  computed_at timestamp not null,
  run_id string not null
)
using delta
tblproperties (
  'delta.constraints.baseline_before_run_date' =
    "coalesce(baseline_start <= baseline_end and baseline_end < run_date, true)",
  'delta.constraints.rows_not_negative' = "baseline_rows >= 0 and current_rows >= 0"
)
comment 'PSI, Jensen-Shannon, embedding and neighbour drift per run date against a baseline';
