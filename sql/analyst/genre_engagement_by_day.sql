-- Plays, completions and distinct viewers per genre and day.
with plays as (
  select
    e.event_date,
    genre,
    e.event_type,
    e.user_id
  from events as e
  inner join content as c
    on e.content_id = c.content_id
  lateral view explode(c.genres) g as genre
  where e.event_type in ('play', 'complete')
)

select
  event_date,
  genre,
  count_if(event_type = 'play') as plays,
  count_if(event_type = 'complete') as completions,
  count(distinct user_id) as viewers
from plays
group by event_date, genre
order by event_date, plays desc
