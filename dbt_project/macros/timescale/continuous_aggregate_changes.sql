{#- What changed upstream since a plain-PostgreSQL continuous_aggregate table was last
    maintained, as SQL literals for the materialization and continuous_aggregate_filter:
      watermark     the table's newest `watermark` (the upstream rows after it are the changes)
      first_bucket  the earliest bucket holding a change, or none when nothing changed

    Looked up when the model runs and inlined: given constants, PostgreSQL reads the changed
    rows through the upstream's (merged_at, ...) index and the buckets through their date
    indexes. With subqueries there it guesses a third of each table and scans all of it, which
    made the daily maintenance grow with history. -#}
{% macro continuous_aggregate_changes() %}
    {%- set settings = tickerhouse.continuous_aggregate_config() -%}
    {%- set newest = run_query("select max(" ~ settings.watermark ~ ")::text from " ~ this).columns[0].values()[0] -%}
    {%- set watermark = "'-infinity'" if newest is none else "'" ~ newest ~ "'" -%}
    {%- set first = run_query(
        "select min(" ~ tickerhouse.time_bucket(settings.bucket_width, settings.time_column) ~ ")::text from "
        ~ ref(settings.upstream) ~ " where " ~ settings.upstream_watermark ~ " > " ~ watermark).columns[0].values()[0] -%}
    {{ return({'watermark': watermark, 'first_bucket': none if first is none else "'" ~ first ~ "'::date"}) }}
{% endmacro %}
