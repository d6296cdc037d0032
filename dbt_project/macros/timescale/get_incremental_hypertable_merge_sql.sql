{#- incremental_strategy='hypertable_merge': dbt's MERGE on plain PostgreSQL; on TimescaleDB an
    upsert (INSERT ... ON CONFLICT (unique_key) DO UPDATE), which TimescaleDB applies to
    compressed chunks too, where its MERGE refuses any hypertable with compression enabled.
    Either way a batch row replaces the row with its key and inserts the others; the upsert needs
    a unique index on exactly the unique_key columns (the models declare one). Nested loops are
    allowed again for it (the models turn them off for their own query): a day's rows must
    find their keys through the index, not hash a table of years. -#}
{% macro get_incremental_hypertable_merge_sql(arg_dict) %}
    set local enable_nestloop = on;
    {%- if not tickerhouse.timescaledb_available() %}
    {{ get_incremental_merge_sql(arg_dict) }}
    {%- else -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] if arg_dict['unique_key'] is sequence and arg_dict['unique_key'] is not string else [arg_dict['unique_key']] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | list -%}
    {%- set keys = unique_key | map('lower') | list -%}
    insert into {{ target }} ({{ columns | join(', ') }})
    select {{ columns | join(', ') }} from {{ source }}
    on conflict ({{ unique_key | join(', ') }}) do update set
    {%- for column in arg_dict['dest_columns'] if column.name | lower not in keys %}
        {{ column.quoted }} = excluded.{{ column.quoted }}{{ "," if not loop.last }}
    {%- endfor %}
    {%- endif %}
{% endmacro %}
