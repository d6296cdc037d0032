{#- True when a continuous_aggregate model is being maintained as a plain-PostgreSQL table
    (no TimescaleDB, the table exists, no --full-refresh): only changed buckets are rebuilt. -#}
{% macro continuous_aggregate_is_incremental() %}
    {%- if not execute or tickerhouse.timescaledb_available() or should_full_refresh() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {{ return(existing is not none and existing.type == 'table') }}
{% endmacro %}
