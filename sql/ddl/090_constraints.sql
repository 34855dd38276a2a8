-- Delta CHECK constraints: a write that breaks one fails as a whole.
alter table events add constraint event_type_known
  check (event_type in ('impression', 'play', 'pause', 'complete', 'click', 'like', 'share'));
alter table events add constraint watch_seconds_non_negative
  check (watch_seconds is null or watch_seconds >= 0);
alter table content add constraint content_type_known
  check (content_type in ('movie', 'series', 'episode', 'clip'));
alter table content add constraint duration_non_negative
  check (duration_seconds is null or duration_seconds >= 0);
alter table content_embeddings add constraint dim_positive check (dim > 0);
