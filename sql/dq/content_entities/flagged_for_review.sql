-- severity: warn
-- kind: row
-- description: ids in a cluster flagged for review (large, or split for mixing content types)
select content_id, canonical_id, review_reason from content_entities
where resolved_date = {run_date} and review
