{#- True when `relation` has no planner statistics yet, or has grown (in pages, or in rows
    changed since its last ANALYZE) by more than `growth` since they were taken. The page test
    sees rows written earlier in the current transaction, which the activity counters do not. -#}
{% macro needs_analyze(relation, growth=0.2) %}
    {%- set measured = run_query(
        "select coalesce(s.last_analyze, s.last_autoanalyze) is null
                or coalesce(s.n_mod_since_analyze, 0) > " ~ growth ~ " * greatest(s.n_live_tup, 1)
                or pg_relation_size(c.oid) > (1 + " ~ growth ~ ") * greatest(c.relpages, 1)::bigint
                                             * current_setting('block_size')::bigint
         from pg_class c left join pg_stat_user_tables s on s.relid = c.oid
         where c.oid = '" ~ relation ~ "'::regclass") -%}
    {{ return(measured.rows[0][0]) }}
{% endmacro %}
