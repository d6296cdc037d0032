{#- The value of `value` on the row with the largest `order_by` in the group: TimescaleDB's
    last() (allowed in continuous aggregates), else an ordered array_agg. -#}
{% macro last_by(value, order_by) %}
    {%- if tickerhouse.timescaledb_available() -%}
        last({{ value }}, {{ order_by }})
    {%- else -%}
        (array_agg({{ value }} order by {{ order_by }} desc))[1]
    {%- endif -%}
{% endmacro %}
