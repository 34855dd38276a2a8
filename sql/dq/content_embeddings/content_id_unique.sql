-- severity: fail
-- kind: unique
-- description: one vector per content_id and model version
-- The run's own rows: every job MERGEs its vectors on this key, which inserts only keys the
-- table lacks and refuses a source that repeats one, so a copy can only come from the rows a
-- run wrote (embedded_date is the date of the run that inserted or replaced the vector).
select content_id, modality, model_version, count(*) as copies
from content_embeddings
where embedded_date = {run_date}
group by content_id, modality, model_version
having count(*) > 1
