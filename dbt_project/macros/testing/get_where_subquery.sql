{#- Overrides dbt's get_where_subquery (the relation a generic test reads) to add a rolling test
    window for large incremental models, so the daily `dbt build` tests what changed instead of
    re-reading years of history.

    A model opts in with `meta: {test_window: {time_column: trade_date, batch_column: merged_at}}`
    and needs an index on (batch_column, time_column). Tests attached to it then see the rows
    whose time column is within var('test_window_days') of the newest date in the model's latest
    batch (the rows with the largest batch_column): after a daily load that is the last month;
    after a late correction of an old day, the month before that day. Both lookups are index
    probes, so the filter costs the same at any history length. `--vars '{test_scope: full}'`
    (the weekly full check) tests every row. Relations other than the tested model (for example
    the parent of a relationships test) are never filtered. A test's own `where` config is
    applied as well.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set window = tickerhouse.test_window_condition(relation) -%}
    {%- set conditions = [] -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- if window -%}{%- do conditions.append(window) -%}{%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
