{#- Rows for which the SQL boolean `expression` does not hold (nulls count as failing). -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
