{#- The model's TimescaleDB settings, from `meta: {timescale: {...}}` in its config, merged over
    the project defaults (vars). None when the model declares none. Keys:
      time_column      the partitioning column (hypertable) / bucketed column (aggregate)
      chunk_interval   hypertable chunk width                    (var timescale_chunk_interval)
      segment_by       compression segment column(s)
      order_by         compression order                          (default "<time_column> desc")
      compress_after   age at which chunks are compressed         (var timescale_compress_after)
      reorder          true: a reorder policy on the table's unique index
-#}
{% macro timescale_config(node=none) %}
    {%- set meta = (node.config.meta if node is not none else config.get('meta', {})) or {} -%}
    {%- set declared = meta.get('timescale') -%}
    {%- if declared is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set settings = {
        'chunk_interval': var('timescale_chunk_interval'),
        'compress_after': var('timescale_compress_after'),
        'segment_by': none,
        'order_by': none,
        'reorder': false,
    } -%}
    {%- do settings.update(declared) -%}
    {%- if settings.order_by is none -%}
        {%- do settings.update({'order_by': settings.time_column ~ ' desc'}) -%}
    {%- endif -%}
    {{ return(settings) }}
{% endmacro %}
