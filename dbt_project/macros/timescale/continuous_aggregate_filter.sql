{#- The WHERE condition a continuous_aggregate model puts on its upstream rows.

    On TimescaleDB, and for a full build, it is `true`: the continuous aggregate (or the table)
    covers everything. When the plain-PostgreSQL table is maintained incrementally it limits the
    upstream scan to the days from the first changed bucket on (continuous_aggregate_changes,
    a literal date), so a daily build reads a week or a month of bars, not the whole history;
    the materialization then keeps only the changed buckets. -#}
{% macro continuous_aggregate_filter(time_column='trade_date') %}
    {%- if tickerhouse.continuous_aggregate_is_incremental() -%}
        {%- set first_bucket = tickerhouse.continuous_aggregate_changes().first_bucket -%}
        {{ time_column }} >= {{ first_bucket if first_bucket is not none else "'infinity'::date" }}
    {%- else -%}
        true
    {%- endif -%}
{% endmacro %}
