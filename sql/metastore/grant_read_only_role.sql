-- The login role of the analysts' SQL endpoint: it may read the Hive catalogue and change
-- nothing in it, so a CREATE, DROP or ALTER that reached the metastore would fail here even
-- without the endpoint's own read-only rule. Run by contentlake.sql_endpoint through psql,
-- connected to the metastore database, with the variables role, password and owner (the
-- pipeline's role, which owns the tables); psql quotes them. Safe to repeat.
select format('create role %I login', :'role')
where not exists (select from pg_roles where rolname = :'role')
\gexec

select format('alter role %I with login password %L', :'role', :'password')
\gexec

-- Every transaction of the role is read-only: a write that a missing grant let through
-- would still be refused.
select format('alter role %I set default_transaction_read_only = on', :'role')
\gexec

select format('grant connect on database %I to %I', current_database(), :'role')
\gexec

select format('grant usage on schema public to %I', :'role')
\gexec

select format('grant select on all tables in schema public to %I', :'role')
\gexec

-- DataNucleus creates some catalogue tables only when the pipeline first needs them (as the
-- owner role): those are readable too.
select format(
  'alter default privileges for role %I in schema public grant select on tables to %I',
  :'owner', :'role'
)
\gexec
