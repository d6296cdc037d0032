{#- An Alpha Vantage string field as a number: its "None", "-" and empty values are null. -#}
{% macro alphavantage_number(column) %}
    nullif(nullif(nullif(trim({{ column }}), 'None'), '-'), '')::double precision
{%- endmacro %}
