{#- Post-hook of the time-series models: the storage layout around the table dbt just built.

    TimescaleDB (the table is a hypertable since its first statement, see
    postgres__create_table_as): compression segmented by `segment_by` and ordered by
    `order_by`, a compression policy after `compress_after`, and, with `reorder: true`, a reorder
    policy that keeps each recent chunk clustered on the table's unique index (all of a ticker's
    days together) until it is compressed. Each step is skipped when already in place.

    Plain PostgreSQL: what a hypertable's chunks give date windows, a btree on the time column
    (time_index; the models write rows in time order, so a window's rows share pages; why not
    BRIN is said there). Compression and reordering have no plain-PostgreSQL counterpart worth
    a daily rewrite, and are skipped.
-#}
{% macro apply_timeseries_storage() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set settings = tickerhouse.timescale_config() -%}
    {%- if settings is none -%}
        {{ exceptions.raise_compiler_error(this ~ ": apply_timeseries_storage() needs meta.timescale in the model config") }}
    {%- endif -%}
    {%- if tickerhouse.timescaledb_available() -%}
        {{ return(tickerhouse.timescale_hypertable_policies(this, settings)) }}
    {%- else -%}
        {{ return(tickerhouse.time_index(this, settings.time_column)) }}
    {%- endif -%}
{% endmacro %}
