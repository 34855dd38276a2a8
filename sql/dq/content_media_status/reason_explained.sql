-- severity: fail
-- kind: row
-- description: media without keyframes say why in detail
select content_id, media_kind, status from content_media_status
where status != 'ok' and (detail is null or trim(detail) = '')
