{#- The newest value of `column` in the model's existing table, as a SQL literal, for the
    filter that picks an incremental batch (`where upstream_column > {{ incremental_watermark(...) }}`).

    It is read once, when the model is compiled, and inlined: given a constant, PostgreSQL
    estimates the batch from its statistics and reads it through the index on the upstream
    column, where a subquery in the filter would leave it guessing a third of the table and
    scanning all of it. `default` is returned on a full build. In a unit test (where `this` is a
    fixture, not a table) the subquery is returned instead. -#}
{% macro incremental_watermark(column, default="'-infinity'") %}
    {%- if not execute or not is_incremental() -%}
        {{ return(default) }}
    {%- endif -%}
    {%- if model.resource_type == 'unit_test' or this.identifier is not defined -%}
        {{ return("(select coalesce(max(" ~ column ~ "), " ~ default ~ ") from " ~ this ~ ")") }}
    {%- endif -%}
    {%- set newest = run_query("select max(" ~ column ~ ")::text from " ~ this).columns[0].values()[0] -%}
    {{ return(default if newest is none else "'" ~ newest ~ "'") }}
{% endmacro %}
