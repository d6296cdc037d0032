{#- A Python/Jinja value as a SQL literal: null, a number, or a quoted string. -#}
{% macro sql_literal(value) %}
    {%- if value is none -%}
        {{ return('null') }}
    {%- elif value is number and value is not boolean -%}
        {{ return(value | string) }}
    {%- else -%}
        {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
    {%- endif -%}
{% endmacro %}
