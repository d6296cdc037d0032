{#- materialized='continuous_aggregate': a time-bucketed rollup of a time-series model, with the
    same columns on both kinds of warehouse.

    TimescaleDB: a real-time continuous aggregate (`create materialized view ... with
    (timescaledb.continuous, timescaledb.materialized_only = false)`) over the upstream
    hypertable, with a refresh policy (add_continuous_aggregate_policy) that TimescaleDB's job
    scheduler runs: it materializes the buckets its invalidation log says changed, and queries
    add the not-yet-materialized tail from the hypertable, so results are complete right after a
    build. (A refresh inside the build is not possible: refresh_continuous_aggregate refuses a
    transaction block, and dbt runs every model in one.) The aggregate is recreated only when its
    definition changes (an md5 of the compiled SQL is kept in the relation's comment) or on
    --full-refresh, created WITH NO DATA for the same reason.

    Plain PostgreSQL: a table maintained incrementally. The buckets holding upstream rows
    changed since the table's watermark (max of `watermark`, the upstream `merged_at` of the
    newest row aggregated) are deleted and aggregated again from the model's query, which reads
    just those buckets' rows (continuous_aggregate_filter). Rows are written in bucket order
    under a btree on the bucket (time_index), and analyzed when grown (needs_analyze). Settings:
    continuous_aggregate_config.

    The model SQL is the aggregate's query: one SELECT ... GROUP BY over the upstream model,
    written with time_bucket/first_by/last_by so it compiles for both paths. TimescaleDB's
    continuous aggregates accept no CTEs, which is why these models are a single query.
-#}
{% materialization continuous_aggregate, adapter='postgres' %}
    {%- set settings = tickerhouse.continuous_aggregate_config() -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set timescale = tickerhouse.timescaledb_available() -%}
    {%- set target_relation = this.incorporate(type='view' if timescale else 'table') -%}
    {%- set contract_config = config.get('contract') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if timescale -%}
        {%- set definition_md5 = local_md5(sql) -%}
        {%- set marker = "[continuous aggregate definition md5 " ~ definition_md5 ~ "]" -%}
        {%- set current = none -%}
        {%- if existing_relation is not none -%}
            {%- set current = run_query(
                "select obj_description('" ~ existing_relation ~ "'::regclass, 'pg_class'),
                        exists (select 1 from timescaledb_information.continuous_aggregates
                                where view_schema = '" ~ this.schema ~ "' and view_name = '" ~ this.identifier ~ "')") -%}
        {%- endif -%}
        {%- set unchanged = current is not none and current.rows[0][1]
                            and marker in (current.rows[0][0] or '') and not should_full_refresh() -%}

        {%- if not unchanged -%}
            {%- if contract_config.enforced -%}
                {{ get_assert_columns_equivalent(sql) }}
            {%- endif -%}
            {%- if existing_relation is not none -%}
                {%- call statement('drop_existing') -%}
                    {%- if current.rows[0][1] -%}
                    drop materialized view if exists {{ existing_relation }} cascade
                    {%- else -%}
                    drop {{ existing_relation.type }} if exists {{ existing_relation }} cascade
                    {%- endif -%}
                {%- endcall -%}
            {%- endif -%}
            {%- call statement('main') -%}
                create materialized view {{ target_relation }}
                with (timescaledb.continuous, timescaledb.materialized_only = false) as
                {{ sql }}
                with no data
            {%- endcall -%}
        {%- else -%}
            {%- call statement('main') -%}
                select 1 /* {{ target_relation }}: definition unchanged; its policy refreshes it */
            {%- endcall -%}
        {%- endif -%}

        {%- call statement('policy') -%}
            select add_continuous_aggregate_policy(
                '{{ target_relation }}',
                start_offset => {{ "interval '" ~ settings.policy_start_offset ~ "'" if settings.policy_start_offset else 'null' }},
                end_offset => {{ "interval '" ~ settings.policy_end_offset ~ "'" if settings.policy_end_offset else 'null' }},
                schedule_interval => interval '{{ settings.policy_schedule_interval }}',
                if_not_exists => true
            )
        {%- endcall -%}
        {%- call statement('comment') -%}
            comment on view {{ target_relation }} is '{{ ((model.description or '') | trim ~ ' ' ~ marker) | replace("'", "''") }}'
        {%- endcall -%}
        {%- do persist_docs(target_relation, model, for_relation=false, for_columns=true) -%}
        {{ run_hooks(post_hooks, inside_transaction=True) }}
        {%- do adapter.commit() -%}

    {%- else -%}
        {%- set incremental = existing_relation is not none and existing_relation.type == 'table'
                              and not should_full_refresh() -%}
        {%- if incremental -%}
            {%- set changed = tickerhouse.changed_buckets_relation() -%}
            {%- set changes = tickerhouse.continuous_aggregate_changes() -%}
            {%- set first_bucket = changes.first_bucket if changes.first_bucket is not none else "'infinity'::date" -%}
            {%- call statement('changed_buckets') -%}
                drop table if exists {{ changed }};
                create temporary table {{ changed }} as
                select distinct {{ tickerhouse.time_bucket(settings.bucket_width, settings.time_column) }} as bucket
                from {{ ref(settings.upstream) }}
                where {{ settings.upstream_watermark }} > {{ changes.watermark }};
                analyze {{ changed }}
            {%- endcall -%}
            {#- the literal lower bound lets both statements find the buckets through an index -#}
            {%- call statement('main') -%}
                delete from {{ target_relation }}
                where {{ settings.bucket_column }} >= {{ first_bucket }}
                  and {{ settings.bucket_column }} in (select bucket from {{ changed }});
                insert into {{ target_relation }}
                select * from ({{ sql }}) as rebuilt
                where rebuilt.{{ settings.bucket_column }} >= {{ first_bucket }}
                  and rebuilt.{{ settings.bucket_column }} in (select bucket from {{ changed }})
                order by rebuilt.{{ settings.bucket_column }}
            {%- endcall -%}
            {%- call statement('drop_changed_buckets') -%}
                drop table {{ changed }}
            {%- endcall -%}
        {%- else -%}
            {%- if existing_relation is not none -%}
                {%- do adapter.drop_relation(existing_relation) -%}
            {%- endif -%}
            {%- call statement('main') -%}
                {{ get_create_table_as_sql(False, target_relation, sql ~ "\norder by " ~ settings.bucket_column) }}
            {%- endcall -%}
            {%- do create_indexes(target_relation) -%}
        {%- endif -%}
        {%- call statement('time_index') -%}
            {{ tickerhouse.time_index(target_relation, settings.bucket_column) }}
        {%- endcall -%}
        {#- Fresh statistics after the first build or a backfill (autovacuum may be off or late):
            the tests read the latest buckets through the indexes only if the planner knows. -#}
        {%- if tickerhouse.needs_analyze(target_relation) -%}
            {%- call statement('analyze') -%}
                analyze {{ target_relation }}
            {%- endcall -%}
        {%- endif -%}
        {%- do persist_docs(target_relation, model) -%}
        {{ run_hooks(post_hooks, inside_transaction=True) }}
        {%- do adapter.commit() -%}
    {%- endif -%}

    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
