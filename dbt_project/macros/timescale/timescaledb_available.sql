{#- True when the warehouse has the TimescaleDB extension installed (sql/timescale_setup.sql
    creates it wherever the server offers it). Every TimescaleDB macro asks this first and
    falls back to its plain-PostgreSQL equivalent. `--vars '{timescaledb: false}'` forces the
    plain path on a TimescaleDB server. -#}
{% macro timescaledb_available() %}
    {%- if not execute or var('timescaledb', true) in (false, 'false', 'off') -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query(
        "select exists (select 1 from pg_extension where extname = 'timescaledb')") -%}
    {{ return(found.columns[0].values()[0]) }}
{% endmacro %}
