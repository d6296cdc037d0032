{#- Post-hook of curated models and snapshots: SELECT for the analyst and ML roles that
    sql/timescale_setup.sql creates. Only roles that exist are named, so a bare `dbt build` on a
    database set up without that script still works (it logs what it skipped). -#}
{% macro grant_select_to_readers(roles=['tickerhouse_analyst', 'tickerhouse_ml']) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set found = run_query(
        "select rolname from pg_roles where rolname in ('" ~ roles | join("', '") ~ "') order by rolname") -%}
    {%- set present = found.columns[0].values() | list -%}
    {%- if present | length < roles | length -%}
        {%- do log(this ~ ": roles missing, not granted: " ~ (roles | reject('in', present) | join(', ')) ~ " (run sql/timescale_setup.sql)", info=false) -%}
    {%- endif -%}
    {%- if present -%}
        {{ return("grant select on " ~ this ~ " to " ~ present | map('tojson') | join(', ')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
