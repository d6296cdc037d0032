{#- The value of `value` on the row with the smallest `order_by` in the group: TimescaleDB's
    first() (allowed in continuous aggregates), else an ordered array_agg. -#}
{% macro first_by(value, order_by) %}
    {%- if tickerhouse.timescaledb_available() -%}
        first({{ value }}, {{ order_by }})
    {%- else -%}
        (array_agg({{ value }} order by {{ order_by }}))[1]
    {%- endif -%}
{% endmacro %}
