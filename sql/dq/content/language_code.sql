-- severity: warn
-- kind: row
-- description: languages are two-letter lower-case ISO 639-1 codes
select content_id, language from content
where language is null or not language rlike '^[a-z]{2}$'
