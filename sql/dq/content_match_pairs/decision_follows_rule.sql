-- severity: fail
-- kind: row
-- description: a pair is merged exactly when an accepting rule decided it, and kept for review only by a review rule
select left_id, right_id, decision, rule from content_match_pairs
where resolved_date = {run_date}
  and ((decision = 'match')
      != (rule in ('same_media', 'same_title', 'similar_title', 'same_synopsis', 'close_vectors'))
    or (decision = 'review') != (rule in ('vectors_only', 'other_duration')))
