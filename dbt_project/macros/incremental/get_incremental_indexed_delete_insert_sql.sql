{#- incremental_strategy='indexed_delete_insert': dbt's delete+insert, run with nested loops
    allowed. The models that use it turn nested loops off for their own query (its row
    estimates are useless for new rows, and hashing is safe at any batch size), but deleting a
    day's keys from a table of years must go through the key index, not hash the table. -#}
{% macro get_incremental_indexed_delete_insert_sql(arg_dict) %}
    set local enable_nestloop = on;
    {{ get_incremental_delete_insert_sql(arg_dict) }}
{% endmacro %}
