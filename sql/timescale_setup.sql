-- Warehouse setup: extension, schemas, roles and grants. Idempotent; applied by every run before
-- anything else (orchestration.steps.prepare_warehouse) and safe to run by hand:
--   psql "$TICKERHOUSE_DATABASE_URL" -f sql/timescale_setup.sql
-- TimescaleDB is used when the server has it (>= 2.13: by_range hypertables, caggs with joins);
-- on plain PostgreSQL everything degrades to plain tables (see dbt_project/macros/timescale).

do $$
begin
    if exists (select 1 from pg_available_extensions where name = 'timescaledb') then
        create extension if not exists timescaledb;
    end if;
end
$$;

create schema if not exists raw;         -- dlt lands vendor payloads here, verbatim
create schema if not exists staging;     -- dbt: staging views, intermediate tables, seeds
create schema if not exists curated;     -- dbt: what analysts query
create schema if not exists quarantine;  -- dbt: bars that failed validation, with the failed rule
create schema if not exists ml;          -- predictions, model runs, scored news
create schema if not exists ops;         -- run ledger, quotas, alerts, dbt test results

-- The warehouse's query shapes (window functions over long partitions, wide incremental plans)
-- get nothing from PostgreSQL's JIT but its compile time: seconds per dbt model whose estimates
-- look large. Off for every session of this database (the dbt models also set it locally).
do $$
begin
    execute format('alter database %I set jit = off', current_database());
end
$$;

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

-- Nobody gets anything through PUBLIC on the warehouse's schemas.
revoke all on schema raw, staging, curated, quarantine, ml, ops from public;

-- loader: writes raw (dlt creates its tables there).
grant usage, create on schema raw to tickerhouse_loader;

-- transformer: reads raw, owns the schemas dbt builds (so it owns, and may replace, what is in
-- them; the analytics functions dbt creates live in staging).
grant usage on schema raw to tickerhouse_transformer;
grant select on all tables in schema raw to tickerhouse_transformer;
alter default privileges in schema raw grant select on tables to tickerhouse_transformer;
alter default privileges for role tickerhouse_loader in schema raw
    grant select on tables to tickerhouse_transformer;
alter schema staging owner to tickerhouse_transformer;
alter schema curated owner to tickerhouse_transformer;
alter schema quarantine owner to tickerhouse_transformer;
grant usage, create on schema ops to tickerhouse_transformer;
-- the scored news the sentiment models aggregate
grant usage on schema ml to tickerhouse_transformer;
grant select on all tables in schema ml to tickerhouse_transformer;
alter default privileges in schema ml grant select on tables to tickerhouse_transformer;
alter default privileges for role tickerhouse_ml in schema ml
    grant select on tables to tickerhouse_transformer;

-- analyst: reads curated, and only curated (no raw, staging, quarantine, ml or ops).
grant usage on schema curated to tickerhouse_analyst;
grant select on all tables in schema curated to tickerhouse_analyst;
alter default privileges in schema curated grant select on tables to tickerhouse_analyst;
alter default privileges for role tickerhouse_transformer in schema curated
    grant select on tables to tickerhouse_analyst;

-- ml: reads curated, writes ml.
grant usage on schema curated to tickerhouse_ml;
grant select on all tables in schema curated to tickerhouse_ml;
alter default privileges in schema curated grant select on tables to tickerhouse_ml;
alter default privileges for role tickerhouse_transformer in schema curated
    grant select on tables to tickerhouse_ml;
grant usage, create on schema ml to tickerhouse_ml;
