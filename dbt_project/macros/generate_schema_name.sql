{#- Models land in the schema their folder names (staging, curated, …), not in
    "<target schema>_<custom schema>": analysts query `curated.fct_daily_bars`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
