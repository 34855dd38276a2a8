-- severity: fail
-- kind: row
-- description: similarities, gaps and scores lie in their ranges
select left_id, right_id from content_match_pairs
where resolved_date = {run_date}
  and (title_similarity not between 0 and 1
    or synopsis_similarity not between 0 and 1
    or score not between 0 and 1
    or cosine not between -1.0001 and 1.0001
    or duration_gap not between 0 and 1
    or year_gap < 0)
