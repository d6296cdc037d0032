{#- The index that serves a table's date windows (the latest sessions a daily build, a test or an
    analyst reads): a btree on `column`, as TimescaleDB gives every hypertable by default.

    Not BRIN: PostgreSQL costs a bitmap heap scan as if the matching rows were scattered over
    the table (the physical order that makes BRIN selective is not in its estimate), so once a
    window is a few percent of a table, the planner prefers a sequential scan to the BRIN. At
    10 years x 6,000 tickers, a two-month window of fct_daily_bars read the whole 2.2 GB table
    that way, twice per build. A btree's index scan is costed with the column's correlation
    (the models write rows in time order), so the same window reads only its own pages, at any
    length of history. The key repeats for every ticker, so btree deduplication keeps the index
    small (101 MB at 15M rows, against 2.2 GB of table). The BRIN index earlier versions
    created is dropped. -#}
{% macro time_index(relation, column) %}
    drop index if exists {{ relation.schema }}.{{ adapter.quote(relation.identifier ~ "__" ~ column ~ "_brin") }};
    create index if not exists {{ adapter.quote(relation.identifier ~ "__" ~ column ~ "_idx") }}
        on {{ relation }} ({{ column }})
{%- endmacro %}
