{#- The start of the `width` bucket holding `column` (a date), as a date: TimescaleDB's
    time_bucket (required in continuous aggregates) or its plain-PostgreSQL equivalent. Both put
    weeks on Mondays (time_bucket's default origin, 2000-01-03, is a Monday) and months on the
    1st, so the two paths agree row for row. -#}
{% macro time_bucket(width, column) %}
    {%- if width not in ('1 day', '1 week', '1 month') -%}
        {{ exceptions.raise_compiler_error("time_bucket: width must be '1 day', '1 week' or '1 month', not " ~ width) }}
    {%- endif -%}
    {%- if tickerhouse.timescaledb_available() -%}
        time_bucket(interval '{{ width }}', {{ column }})
    {%- elif width == '1 day' -%}
        {{ column }}
    {%- else -%}
        date_trunc('{{ width.split(' ')[1] }}', {{ column }})::date
    {%- endif -%}
{% endmacro %}
