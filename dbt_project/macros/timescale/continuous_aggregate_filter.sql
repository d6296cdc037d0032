{#- The WHERE condition a continuous_aggregate model puts on its upstream rows.

    On TimescaleDB, and for a full build, it is `true`: the continuous aggregate (or the table)
    covers everything. When the plain-PostgreSQL table is maintained incrementally it limits the
    upstream scan to the buckets the materialization found changed (a temporary table it fills
    before running the model's query), from their first day on, so a daily build reads a week
    or a month of bars, not the whole history. -#}
{% macro continuous_aggregate_filter(time_column='trade_date') %}
    {%- if tickerhouse.continuous_aggregate_is_incremental() -%}
        {{ time_column }} >= (select min(bucket) from {{ tickerhouse.changed_buckets_relation() }})
    {%- else -%}
        true
    {%- endif -%}
{% endmacro %}
