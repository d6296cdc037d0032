{#- `time_column` within var('test_window_days') of the newest date in `relation`'s latest batch
    (the rows with the largest `batch_column`); with an index on (batch_column, time_column) both
    lookups are index probes. Used by test windows and by singular tests on large models. -#}
{% macro recent_rows_condition(relation, time_column='trade_date', batch_column='merged_at') %}
    {%- if var('test_scope') == 'full' -%}
        {{ return('true') }}
    {%- endif -%}
    {{ return(time_column ~ " >= (select max(" ~ time_column ~ ") from " ~ relation ~ " where " ~ batch_column
              ~ " = (select max(" ~ batch_column ~ ") from " ~ relation ~ ")) - " ~ var('test_window_days')) }}
{% endmacro %}
