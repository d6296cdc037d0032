{#- A BRIN index on `column` of `relation`, kept summarized: created with autosummarize, and the
    block ranges written since its last summary summarized now. Unsummarized ranges always
    match a BRIN scan, so without this a bulk load written after the index was created (a
    history backfill) would be read by every date-window query until the next vacuum. Rows must
    reach the table in `column` order for the index to be selective. -#}
{% macro brin_index(relation, column) %}
    {%- set name = relation.identifier ~ "__" ~ column ~ "_brin" -%}
    create index if not exists {{ adapter.quote(name) }} on {{ relation }}
        using brin ({{ column }}) with (autosummarize = on);
    select brin_summarize_new_values('{{ relation.schema }}.{{ adapter.quote(name) }}'::regclass)
{%- endmacro %}
