{#- The model's `meta.continuous_aggregate` settings (see the continuous_aggregate
    materialization), with defaults:
      bucket_column       the output column holding the bucket start (e.g. week_start)
      bucket_width        '1 day', '1 week' or '1 month'
      time_column         the upstream column being bucketed (trade_date)
      upstream            the upstream model whose changes drive the refresh (fct_daily_bars)
      upstream_watermark  upstream column saying when a row last changed (merged_at)
      watermark           this model's column holding max(upstream_watermark) per bucket
      policy_start_offset / policy_end_offset / policy_schedule_interval: refresh policy
-#}
{% macro continuous_aggregate_config() %}
    {%- set declared = (config.get('meta', {}) or {}).get('continuous_aggregate') -%}
    {%- if declared is none -%}
        {{ exceptions.raise_compiler_error(this ~ ": the continuous_aggregate materialization needs meta.continuous_aggregate") }}
    {%- endif -%}
    {%- set settings = {
        'time_column': 'trade_date',
        'upstream': 'fct_daily_bars',
        'upstream_watermark': 'merged_at',
        'watermark': 'last_merged_at',
        'policy_start_offset': '3 months',
        'policy_end_offset': none,
        'policy_schedule_interval': '1 hour',
    } -%}
    {%- do settings.update(declared) -%}
    {%- for required in ['bucket_column', 'bucket_width'] -%}
        {%- if settings.get(required) is none -%}
            {{ exceptions.raise_compiler_error(this ~ ": meta.continuous_aggregate." ~ required ~ " is required") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(settings) }}
{% endmacro %}
