{#- The temporary table in which the continuous_aggregate materialization lists the buckets to
    rebuild on plain PostgreSQL (one per model, dropped at the end of its build). -#}
{% macro changed_buckets_relation() %}
    {{ return(adapter.quote(this.identifier ~ "__changed_buckets")) }}
{% endmacro %}
