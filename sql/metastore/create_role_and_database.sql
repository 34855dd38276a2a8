-- The Hive metastore's login role and database, created when missing; the password is
-- set on every run so that it follows the configuration. Run by contentlake.metastore
-- through psql with the variables role, password and database (psql quotes them).
select format('create role %I login', :'role')
where not exists (select from pg_roles where rolname = :'role')
\gexec

select format('alter role %I with login password %L', :'role', :'password')
\gexec

select format('create database %I owner %I encoding %L template template0', :'database', :'role', 'UTF8')
where not exists (select from pg_database where datname = :'database')
\gexec
