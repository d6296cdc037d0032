{#- Post-hook of the large incremental tables: ANALYZE when needs_analyze() says so, so the first
    build and a history backfill are followed by fresh planner statistics while a daily batch
    (a tiny fraction of the table) costs nothing. -#}
{% macro analyze_if_grown() %}
    {%- if execute and tickerhouse.needs_analyze(this) -%}
        {{ return('analyze ' ~ this) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
