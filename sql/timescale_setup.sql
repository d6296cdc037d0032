-- Warehouse setup: extension, schemas and roles. Idempotent; applied by every run before
-- anything else (orchestration.steps.prepare_warehouse) and safe to run by hand:
--   psql "$TICKERHOUSE_DATABASE_URL" -f sql/timescale_setup.sql
-- TimescaleDB is used when the server has it; on plain PostgreSQL everything degrades to
-- plain tables (see dbt_project/macros).

do $$
begin
    if exists (select 1 from pg_available_extensions where name = 'timescaledb') then
        create extension if not exists timescaledb;
    end if;
end
$$;

create schema if not exists raw;         -- dlt lands vendor payloads here, verbatim
create schema if not exists staging;     -- dbt views over raw
create schema if not exists curated;     -- what analysts query
create schema if not exists quarantine;  -- rows that failed validation, with the failed rule
create schema if not exists ml;          -- predictions and model runs
create schema if not exists ops;         -- run ledger, quotas, alerts, test results

-- Group roles (no login): grant them to real users. Roles are cluster-wide, so creating them
-- is guarded; grants are per database and repeated safely.
do $$
declare
    role_name text;
begin
    foreach role_name in array array['tickerhouse_loader', 'tickerhouse_transformer',
                                     'tickerhouse_analyst', 'tickerhouse_ml']
    loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            execute format('create role %I nologin', role_name);
        end if;
    end loop;
end
$$;

-- loader: writes raw (dlt creates its tables there).
grant usage, create on schema raw to tickerhouse_loader;
-- transformer: reads raw, owns what dbt builds.
grant usage on schema raw to tickerhouse_transformer;
grant select on all tables in schema raw to tickerhouse_transformer;
alter default privileges in schema raw grant select on tables to tickerhouse_transformer;
grant usage, create on schema staging, curated, quarantine, ops to tickerhouse_transformer;
-- analyst: reads curated only.
grant usage on schema curated to tickerhouse_analyst;
grant select on all tables in schema curated to tickerhouse_analyst;
alter default privileges in schema curated grant select on tables to tickerhouse_analyst;
-- ml: reads curated, writes ml.
grant usage on schema curated to tickerhouse_ml;
grant select on all tables in schema curated to tickerhouse_ml;
alter default privileges in schema curated grant select on tables to tickerhouse_ml;
grant usage, create on schema ml to tickerhouse_ml;
