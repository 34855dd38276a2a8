-- Duplicates resolved on the latest run date, one row per merged id, with the evidence:
-- the work's canonical id and title, the duplicate's own title, type, running time and
-- release, how it was merged (its strongest rule) and the best-scored accepted pair that
-- ties it to its entity. Entities flagged for review come first.
with latest as (
  select max(resolved_date) as resolved_date from content_entities
),
entities as (
  select e.*
  from content_entities as e
  join latest as l on e.resolved_date = l.resolved_date
),
matches as (
  select p.*
  from content_match_pairs as p
  join latest as l on p.resolved_date = l.resolved_date
  where p.decision = 'match'
),
evidence as (
  select
    m.left_id as content_id, m.right_id as other_id, m.rule, m.score,
    m.title_similarity, m.cosine, m.duration_gap, m.year_gap
  from matches as m
  union all
  select
    m.right_id, m.left_id, m.rule, m.score,
    m.title_similarity, m.cosine, m.duration_gap, m.year_gap
  from matches as m
),
best as (
  select content_id, max_by(struct(other_id, rule, score, title_similarity, cosine,
    duration_gap, year_gap), score) as pair
  from evidence
  group by content_id
)
select
  e.resolved_date,
  e.canonical_id,
  canonical.title as canonical_title,
  e.content_id,
  c.title,
  c.content_type,
  c.duration_seconds,
  c.release_date,
  c.language,
  e.cluster_size,
  e.match_rule,
  e.canonical_rule,
  e.review_reason,
  b.pair.other_id as matched_with,
  b.pair.score as score,
  round(b.pair.title_similarity, 3) as title_similarity,
  round(b.pair.cosine, 3) as cosine,
  round(b.pair.duration_gap, 3) as duration_gap,
  b.pair.year_gap as year_gap
from entities as e
join content as c on e.content_id = c.content_id
join content as canonical on e.canonical_id = canonical.content_id
left join best as b on e.content_id = b.content_id
where e.cluster_size > 1
order by e.review desc, e.canonical_id, e.content_id
