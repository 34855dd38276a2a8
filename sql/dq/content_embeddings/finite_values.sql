-- severity: fail
-- kind: row
-- description: the vectors the run wrote hold no NaN or infinite values
-- Each vector is judged when a run writes it: a rerun that re-embeds 1% of the catalogue
-- reads 1% of the vectors, not all of them.
select content_id from content_embeddings
where embedded_date = {run_date} and exists(embedding, x -> isnan(x) or abs(x) = double('inf'))
