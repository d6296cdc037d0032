{#- The earliest `time_column` of the `upstream` rows changed since this model was last built
    (their `upstream_batch_column` past the model's newest `batch_column`), as a literal date:
    an incremental model rebuilds from there. 'infinity' when nothing changed, '-infinity' on a
    full build.

    Read once, when the model is compiled, for the reason incremental_watermark gives: with
    subqueries there the planner guesses a third of each table, and for one new day it
    seq-scanned the whole of fct_daily_bars (3 GiB at ten years) to find the changed rows. In a
    unit test (where `this` is a fixture) the subquery is returned instead. -#}
{% macro incremental_first_changed_date(upstream, time_column='trade_date',
                                        upstream_batch_column='merged_at', batch_column='merged_at') %}
    {%- if not execute or not is_incremental() -%}
        {{ return("'-infinity'::date") }}
    {%- endif -%}
    {%- set first = "(select coalesce(min(" ~ time_column ~ "), 'infinity'::date) from " ~ upstream
                    ~ " where " ~ upstream_batch_column ~ " > "
                    ~ tickerhouse.incremental_watermark(batch_column) ~ ")" -%}
    {%- if model.resource_type == 'unit_test' or this.identifier is not defined -%}
        {{ return(first) }}
    {%- endif -%}
    {{ return("'" ~ run_query("select " ~ first ~ "::text").columns[0].values()[0] ~ "'::date") }}
{% endmacro %}
