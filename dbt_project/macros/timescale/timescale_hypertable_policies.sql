{#- Compression settings and policies of a hypertable (see apply_timeseries_storage); the SQL is
    idempotent, so it runs after every build. -#}
{% macro timescale_hypertable_policies(relation, settings) %}
    {%- set state = run_query(
        "select h.compression_enabled,
                (select c.relname::text from pg_index i join pg_class c on c.oid = i.indexrelid
                 where i.indrelid = '" ~ relation ~ "'::regclass and i.indisunique
                 order by i.indexrelid limit 1)
         from timescaledb_information.hypertables h
         where h.hypertable_schema = '" ~ relation.schema ~ "'
           and h.hypertable_name = '" ~ relation.identifier ~ "'") -%}
    {%- if state.rows | length == 0 -%}
        {{ exceptions.raise_compiler_error(relation ~ " is not a hypertable: was it built before TimescaleDB was installed? Rebuild it with --full-refresh.") }}
    {%- endif -%}
    {%- set compression_enabled = state.rows[0][0] -%}
    {%- set unique_index = state.rows[0][1] -%}
    {%- set statements = [] -%}
    {%- if not compression_enabled -%}
        {%- do statements.append(
            "alter table " ~ relation ~ " set (timescaledb.compress"
            ~ (", timescaledb.compress_segmentby = '" ~ settings.segment_by ~ "'" if settings.segment_by else "")
            ~ ", timescaledb.compress_orderby = '" ~ settings.order_by ~ "')") -%}
    {%- endif -%}
    {%- do statements.append(
        "select add_compression_policy('" ~ relation ~ "', compress_after => interval '"
        ~ settings.compress_after ~ "', if_not_exists => true)") -%}
    {%- if settings.reorder and unique_index -%}
        {%- do statements.append(
            "select add_reorder_policy('" ~ relation ~ "', '" ~ unique_index ~ "', if_not_exists => true)") -%}
    {%- endif -%}
    {{ return(statements | join(";\n")) }}
{% endmacro %}
