-- Offline retrieval quality of index snapshots: one row per snapshot and run date (a rerun
-- replaces it), the snapshot's "more like this" results for held-out query items scored
-- against graded judgments from the viewing events of [window_start, window_end]
-- (contentlake/transforms/relevance.py). Metrics follow trec_eval at cutoff k and average
-- over the queries that have a relevant item; they are null when there were none. Rows
-- with the same qrels_sha256 were judged on identical judgments and compare directly.
create table if not exists retrieval_eval (
  snapshot string not null,
  run_date date not null,
  model_version string,
  k int not null,
  ndcg_at_k double,
  mrr_at_k double,
  recall_at_k double,
  map_at_k double,
  queries bigint not null,
  judgments bigint not null,
  qrels_sha256 string not null,
  window_start date not null,
  window_end date not null,
  evaluated_at timestamp not null
)
using delta
tblproperties (
  'delta.constraints.k_positive' = "k > 0",
  'delta.constraints.window_ordered' = "window_start <= window_end",
  'delta.constraints.metrics_in_unit_range' =
    "coalesce(ndcg_at_k, 0) between 0 and 1 and coalesce(mrr_at_k, 0) between 0 and 1
     and coalesce(recall_at_k, 0) between 0 and 1 and coalesce(map_at_k, 0) between 0 and 1",
  'delta.constraints.metrics_null_without_queries' =
    "(queries = 0) = (ndcg_at_k is null)"
)
comment 'nDCG, MRR, recall and MAP at k of each index snapshot on held-out judgments';
