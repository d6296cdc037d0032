{#- The rolling-window condition for tests of `relation` (see get_where_subquery), or none when
    the test's model has no meta.test_window, `relation` is not that model, or
    var('test_scope') is 'full'.

    meta.test_window keys: `time_column` (the tested model's date column) and either
    `batch_column` (a column of the model marking its batches, indexed with the time column), or
    an anchor table whose newest data fixes the window: `anchor_model` (a model's name, its
    `batch_column` if given) or `anchor_source` ([source, table], its newest
    `anchor_time_column`). Views built from CTEs need an anchor: PostgreSQL does not answer
    max() through them from an index. A missing anchor source (nothing landed yet) tests all
    rows, of which there are none. -#}
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
    {%- set anchor = none -%}
    {%- if window.get('anchor_model') -%}
        {%- set anchor_node = graph.nodes['model.' ~ project_name ~ '.' ~ window.anchor_model] -%}
        {%- set anchor = api.Relation.create(database=anchor_node.database, schema=anchor_node.schema,
                                             identifier=anchor_node.alias or anchor_node.name) -%}
    {%- elif window.get('anchor_source') -%}
        {%- set source_node = graph.sources['source.' ~ project_name ~ '.' ~ window.anchor_source | join('.')] -%}
        {%- set anchor = adapter.get_relation(source_node.database, source_node.schema, source_node.identifier) -%}
        {%- if anchor is none -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(tickerhouse.recent_rows_condition(relation, window.time_column, window.get('batch_column'),
                                                anchor, window.get('anchor_time_column'))) }}
{% endmacro %}

{#- The window of the model the running test is attached to, as [time_column, condition], or
    none (no window, full scope, or not a test). For tests that read a second relation keyed on
    the same time column, which can then be read through the same window. -#}
{% macro tested_model_window() %}
    {%- if not execute or model.resource_type != 'test' or not model.attached_node -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- set window = (tested.config.meta or {}).get('test_window') if tested is not none else none -%}
    {%- if window is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set condition = tickerhouse.test_window_condition(
            api.Relation.create(database=tested.database, schema=tested.schema,
                                identifier=tested.alias or tested.name)) -%}
    {{ return([window.time_column, condition] if condition else none) }}
{% endmacro %}
