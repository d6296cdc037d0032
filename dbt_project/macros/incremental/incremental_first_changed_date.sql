{#- The earliest `time_column` of the `upstream` rows changed since this model was last built
    (their `upstream_batch_column` past the model's newest `batch_column`), as a literal date:
    an incremental model rebuilds from there. 'infinity' when nothing changed, '-infinity' on a
    full build.

    Read once, when the model is compiled, for the reason incremental_watermark gives: a
    subquery in `time_column >= (...)` leaves the planner guessing a third of the table, and at
    ten years of history that guess read 6 GiB of indicators for one new day. In a unit test
    (where `this` is a fixture) the subquery is returned instead. -#}
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
