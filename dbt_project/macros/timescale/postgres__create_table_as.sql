{#- dbt's `create table as`, made hypertable-aware. A model with `meta.timescale` on a
    TimescaleDB warehouse is created empty, turned into a hypertable, and only then filled: its
    data is written once, straight into chunks, never copied by `create_hypertable(...,
    migrate_data => true)` nor rebuilt on later runs (incremental runs only merge their batch).
    dbt-timescaledb's materialization instead rebuilds the table; this keeps dbt's own
    incremental materialization, contract checks and indexes. Everything else (temporary
    tables, other models, plain PostgreSQL) goes to dbt-postgres's implementation. -#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
    {%- set settings = tickerhouse.timescale_config() if not temporary else none -%}
    {%- if settings is none or not tickerhouse.timescaledb_available() -%}
        {{ return(dbt.postgres__create_table_as(temporary, relation, sql)) }}
    {%- endif -%}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced %}
    {{ get_assert_columns_equivalent(sql) }}
    create table {{ relation }} {{ get_table_columns_and_constraints() }};
    {%- else %}
    create table {{ relation }} as ({{ sql }}) with no data;
    {%- endif %}
    select create_hypertable(
        '{{ relation }}',
        by_range('{{ settings.time_column }}', interval '{{ settings.chunk_interval }}')
    );
    {%- if contract_config.enforced %}
    insert into {{ relation }} ({{ adapter.dispatch('get_column_names', 'dbt')() }})
    {{ get_select_subquery(sql) }};
    {%- else %}
    insert into {{ relation }} ({{ sql }});
    {%- endif %}
{%- endmacro %}
