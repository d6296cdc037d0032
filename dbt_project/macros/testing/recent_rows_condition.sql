{#- `time_column` within var('test_window_days') of the newest date in `relation`'s latest batch
    (its rows with the largest `batch_column`), or of its newest date when `batch_column` is
    none. `anchor` (a relation, default `relation`) is where that newest date is looked up: a
    table, where both lookups are index probes (on (batch_column, time_column), or on
    time_column). Used by test windows and by singular tests on large models.

    The bound is looked up when the test runs and written into its SQL as a literal date: with
    a subquery there, the planner would guess a third of the table and read all of it. -#}
{% macro recent_rows_condition(relation, time_column='trade_date', batch_column='merged_at',
                               anchor=none, anchor_time_column=none) %}
    {%- if var('test_scope') == 'full' -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set anchor = anchor if anchor is not none else relation -%}
    {%- set anchor_time_column = anchor_time_column or time_column -%}
    {%- if batch_column -%}
        {%- set newest = "(select max(" ~ anchor_time_column ~ ") from " ~ anchor ~ " where " ~ batch_column
                         ~ " = (select max(" ~ batch_column ~ ") from " ~ anchor ~ "))" -%}
    {%- else -%}
        {%- set newest = "(select max(" ~ anchor_time_column ~ ") from " ~ anchor ~ ")" -%}
    {%- endif -%}
    {%- set bound = newest ~ " - " ~ var('test_window_days') -%}
    {%- if execute and load_relation(anchor) is not none -%}
        {%- set found = run_query("select (" ~ bound ~ ")::date::text").columns[0].values()[0] -%}
        {#- an empty anchor: nothing to test, as the subquery's null bound would say -#}
        {%- set bound = ("'" ~ found ~ "'::date") if found is not none else "null::date" -%}
        {{ return(time_column ~ " >= " ~ bound ~ " /* test window: " ~ newest | replace('*', '') ~ " - "
                  ~ var('test_window_days') ~ " */") }}
    {%- endif -%}
    {{ return(time_column ~ " >= " ~ bound) }}
{% endmacro %}
