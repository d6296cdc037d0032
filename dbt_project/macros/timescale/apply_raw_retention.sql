{#- The raw layer's retention (on-run-end hook; also `dbt run-operation apply_raw_retention`).

    Applies to every source table whose YAML has `meta: {retention_column: <date column>}`;
    rows older than var('raw_retention') (e.g. '5 years'; null disables it) are dropped.
    TimescaleDB: the raw table becomes a hypertable on that column (once; dlt's merges keep
    working on it) with a retention policy, so whole chunks are dropped by the job scheduler.
    Plain PostgreSQL: the same rows are deleted by date, which the raw date index makes a small
    daily delete.

    Curated history does not depend on raw once merged: the bar models are incremental and
    refuse --full-refresh (full_refresh: false), so retention never shortens curated history.
    Skipped, with a log line, for a raw table this role may not alter (the loader owns raw).
-#}
{% macro apply_raw_retention() %}
    {%- if not execute or var('raw_retention') is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set timescale = tickerhouse.timescaledb_available() -%}
    {%- set statements = [] -%}
    {%- for source_node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- set column = (source_node.meta or {}).get('retention_column') -%}
        {%- if column -%}
            {%- set relation = adapter.get_relation(source_node.database, source_node.schema, source_node.identifier) -%}
            {%- if relation is not none -%}
                {%- set state = run_query(
                    "select pg_has_role(current_user, c.relowner, 'USAGE'), "
                    ~ ("exists (select 1 from timescaledb_information.hypertables h where h.hypertable_schema = n.nspname and h.hypertable_name = c.relname)" if timescale else "false")
                    ~ " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                    ~ " where n.nspname = '" ~ relation.schema ~ "' and c.relname = '" ~ relation.identifier ~ "'") -%}
                {%- if not state.rows[0][0] -%}
                    {%- do log("raw retention: skipped " ~ relation ~ " (owned by another role)", info=true) -%}
                {%- elif timescale -%}
                    {%- if not state.rows[0][1] -%}
                        {%- do statements.append(
                            "select create_hypertable('" ~ relation ~ "', by_range('" ~ column ~ "', interval '"
                            ~ var('timescale_chunk_interval') ~ "'), migrate_data => true)") -%}
                    {%- endif -%}
                    {%- do statements.append(
                        "select add_retention_policy('" ~ relation ~ "', drop_after => interval '"
                        ~ var('raw_retention') ~ "', if_not_exists => true)") -%}
                {%- else -%}
                    {%- do statements.append(
                        "delete from " ~ relation ~ " where " ~ adapter.quote(column)
                        ~ " < current_date - interval '" ~ var('raw_retention') ~ "'") -%}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements | join(";\n")) }}
{% endmacro %}
