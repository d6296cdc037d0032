{#- The ops tables where every invocation records itself (on-run-start hook): one row per
    invocation in ops.dbt_invocations, one per test (data and unit) in ops.dbt_test_results,
    written by store_test_results at the end of the run. They are declared as the `ops` source
    (models/ops/_ops__sources.yml), so their columns are documented with the project. -#}
{% macro create_test_results_table() %}
    create schema if not exists ops;
    create table if not exists ops.dbt_invocations (
        invocation_id    text primary key,
        command          text not null,
        target_name      text not null,
        run_started_at   timestamptz not null,
        completed_at     timestamptz not null,
        dbt_version      text not null,
        models_ok        integer not null,
        models_failed    integer not null,
        tests_passed     integer not null,
        tests_warned     integer not null,
        tests_failed     integer not null,
        tests_skipped    integer not null
    );
    create table if not exists ops.dbt_test_results (
        invocation_id    text not null references ops.dbt_invocations (invocation_id),
        unique_id        text not null,
        test_name        text not null,
        test_kind        text not null check (test_kind in ('generic', 'singular', 'unit')),
        tested_node      text,
        column_name      text,
        status           text not null,
        severity         text,
        failures         bigint,
        execution_seconds double precision,
        message          text,
        run_started_at   timestamptz not null,
        primary key (invocation_id, unique_id)
    );
    create index if not exists dbt_test_results_tested_node_idx
        on ops.dbt_test_results (tested_node, run_started_at)
{% endmacro %}
