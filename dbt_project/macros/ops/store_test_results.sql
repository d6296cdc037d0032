{#- Records this invocation and its test results in ops (on-run-end hook), so data quality
    history is a query away:

        select run_started_at, test_name, status, failures
        from ops.dbt_test_results where tested_node = 'fct_daily_bars' order by 1 desc;
-#}
{% macro store_test_results(results) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set counts = {'models_ok': 0, 'models_failed': 0, 'pass': 0, 'warn': 0, 'fail': 0, 'skipped': 0} -%}
    {%- set rows = [] -%}
    {%- for result in results -%}
        {%- set node = result.node -%}
        {%- set status = result.status | string | lower -%}
        {%- if node.resource_type in ('model', 'snapshot', 'seed') -%}
            {%- do counts.update({'models_ok' if status == 'success' else 'models_failed':
                                  counts['models_ok' if status == 'success' else 'models_failed'] + 1}) -%}
        {%- elif node.resource_type in ('test', 'unit_test') -%}
            {%- set bucket = status if status in ('pass', 'warn', 'skipped') else 'fail' -%}
            {%- do counts.update({bucket: counts[bucket] + 1}) -%}
            {%- set metadata = node.test_metadata if node.resource_type == 'test' else none -%}
            {%- set kind = 'unit' if node.resource_type == 'unit_test' else ('generic' if metadata else 'singular') -%}
            {%- set tested = none -%}
            {%- if node.resource_type == 'unit_test' -%}
                {%- set tested = node.model -%}
            {%- elif node.attached_node -%}
                {%- set tested = node.attached_node.split('.')[-1] -%}
            {%- endif -%}
            {%- do rows.append([
                node.unique_id, (metadata.name if metadata else node.name), kind, tested,
                node.column_name if node.resource_type == 'test' else none, status,
                node.config.severity if node.resource_type == 'test' else none,
                result.failures, result.execution_time, result.message]) -%}
        {%- endif -%}
    {%- endfor -%}
    insert into ops.dbt_invocations values (
        '{{ invocation_id }}', {{ tickerhouse.sql_literal(flags.WHICH) }}, {{ tickerhouse.sql_literal(target.name) }},
        '{{ run_started_at }}', now(), {{ tickerhouse.sql_literal(dbt_version) }},
        {{ counts.models_ok }}, {{ counts.models_failed }}, {{ counts['pass'] }}, {{ counts.warn }}, {{ counts.fail }},
        {{ counts.skipped }}
    ) on conflict (invocation_id) do nothing;
    {%- if rows %}
    insert into ops.dbt_test_results values
    {%- for row in rows %}
        ('{{ invocation_id }}'{% for value in row %}, {{ tickerhouse.sql_literal(value) }}{% endfor %}, '{{ run_started_at }}')
        {{- "," if not loop.last }}
    {%- endfor %}
    on conflict (invocation_id, unique_id) do nothing
    {%- endif %}
{% endmacro %}
