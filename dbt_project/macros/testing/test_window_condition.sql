{#- The rolling-window condition for tests of `relation` (see get_where_subquery), or none when
    the test's model has no meta.test_window, `relation` is not that model, or
    var('test_scope') is 'full'. -#}
{% macro test_window_condition(relation) %}
    {%- if var('test_scope') == 'full' or not execute or model.resource_type != 'test' or not model.attached_node -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- if tested is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set window = (tested.config.meta or {}).get('test_window') -%}
    {%- if window is none or relation.identifier != (tested.alias or tested.name) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(tickerhouse.recent_rows_condition(relation, window.time_column, window.batch_column)) }}
{% endmacro %}
