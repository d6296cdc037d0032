{#- What the incremental models need from the raw tables dlt creates (on-run-start hook).

    Indexes: each build reads only the raw rows of loads newer than the ones already merged, by
    `_dlt_load_id`; without an index that would be a scan of the whole raw history every day.
    Declared per source table as `meta: {indexes: [[column, ...], ...]}` in the sources YAML.

    Statistics: a table dlt has just created (or grown by more than a fifth) is analyzed, so the
    planner sees how few rows a new load is instead of guessing a third of the table. Once
    analyzed, PostgreSQL reads a newer load id's selectivity from the index itself.

    A table is touched once it exists (the first build reads everything anyway), and skipped,
    with a log line, when this role does not own it (the loader owns raw in production; the
    indexes then belong in the loader's own setup).
-#}
{% macro prepare_raw_tables() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set statements = [] -%}
    {%- for source_node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- set indexes = (source_node.meta or {}).get('indexes', []) -%}
        {%- if indexes -%}
            {%- set relation = adapter.get_relation(source_node.database, source_node.schema, source_node.identifier) -%}
            {%- if relation is not none -%}
                {%- set owned = run_query(
                    "select pg_has_role(current_user, c.relowner, 'USAGE')
                     from pg_class c join pg_namespace n on n.oid = c.relnamespace
                     where n.nspname = '" ~ relation.schema ~ "' and c.relname = '" ~ relation.identifier ~ "'") -%}
                {%- if owned.rows[0][0] -%}
                    {%- for columns in indexes -%}
                        {%- set name = relation.identifier ~ "__" ~ (columns | join("_")) ~ "_idx" -%}
                        {%- do statements.append(
                            "create index if not exists " ~ adapter.quote(name) ~ " on " ~ relation
                            ~ " (" ~ (columns | map('tojson') | join(", ")) ~ ")") -%}
                    {%- endfor -%}
                    {%- if tickerhouse.needs_analyze(relation) -%}
                        {%- do statements.append("analyze " ~ relation) -%}
                    {%- endif -%}
                {%- else -%}
                    {%- do log("raw tables: skipped " ~ relation ~ " (owned by another role)", info=true) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements | join(";\n")) }}
{% endmacro %}
