-- severity: fail
-- description: no event is stored twice, whichever day ingested it
select event_id, count(*) as copies
from events
group by event_id
having count(*) > 1
