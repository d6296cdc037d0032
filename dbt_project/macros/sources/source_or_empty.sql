{#- `source(source_name, table_name)` when that raw table exists; otherwise an empty relation
    with the columns and types its YAML declares (every column of such a source must have a
    data_type). Staging models of vendors whose extractor has not landed anything yet thus build
    as empty views, and `dbt build` stays green on a warehouse that holds only Polygon data; the
    first build after dlt creates the table points the view at it. The lineage is unchanged:
    source() is still called. -#}
{% macro source_or_empty(source_name, table_name) %}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is not none -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error("source_or_empty: " ~ source_name ~ "." ~ table_name ~ "." ~ column.name ~ " needs a data_type in the sources YAML") }}
        {%- endif -%}
        {%- do columns.append("null::" ~ column.data_type ~ " as " ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- do log(relation ~ " does not exist yet: " ~ model.name ~ " is built empty", info=true) -%}
    {{ return("(select " ~ columns | join(", ") ~ " where false) as " ~ adapter.quote(table_name ~ "__not_landed_yet")) }}
{% endmacro %}
