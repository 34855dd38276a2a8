-- severity: fail
-- kind: unique
-- description: the run date's pairs hold each (left_id, right_id) once
select left_id, right_id, count(*) as copies
from content_match_pairs
where resolved_date = {run_date}
group by left_id, right_id
having count(*) > 1
