-- Gold: every candidate pair jobs/resolve_entities.py scored on a run date, with the
-- evidence it decided on (docs/entities.md). One row per (resolved_date, left_id, right_id),
-- left_id < right_id; a rerun of a date replaces its rows in one commit.
--   sources           the kinds of blocking key that proposed the pair: title, title_word,
--                     synopsis, media (video URI), ann (an LSH band of the vectors)
--   title_similarity  1 - Levenshtein / longer length of the normalised titles
--   synopsis_similarity  Jaccard similarity of the descriptions' word sets
--   cosine            of the two items' vectors (entities.modality); null: one has none
--   duration_gap      |difference| / the longer running time (null when both are 0);
--                     year_gap in whole years
--   decision          match (merged), review (kept apart, worth a look) or distinct
--   rule              the rule that decided: same_media, same_title, similar_title,
--                     same_synopsis, close_vectors (match); vectors_only, other_duration
--                     (review); different_type, different_numbers, different_series,
--                     no_rule (distinct)
create table if not exists content_match_pairs (
  resolved_date date not null,
  left_id string not null,
  right_id string not null,
  sources array<string> not null,
  title_similarity double not null,
  synopsis_similarity double not null,
  cosine double,
  duration_gap double,
  year_gap int,
  same_media boolean not null,
  numbers_agree boolean not null,
  same_type boolean not null,
  different_series boolean not null,
  score double not null,
  decision string not null,
  rule string not null
)
using delta
partitioned by (resolved_date)
tblproperties (
  'delta.constraints.pair_ordered' = "left_id < right_id",
  'delta.constraints.decision_known' = "decision in ('match', 'review', 'distinct')"
)
comment 'Entity resolution: every scored candidate pair, its features, score, decision and rule';
