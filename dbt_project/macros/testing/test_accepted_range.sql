{#- Rows whose value falls outside [min_value, max_value] (either bound optional).
    Written here because dbt_utils cannot be installed offline. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    {%- set lower = ">=" if inclusive else ">" -%}
    {%- set upper = "<=" if inclusive else "<" -%}
    select *
    from {{ model }}
    where not (
        true
        {%- if min_value is not none %} and {{ column_name }} {{ lower }} {{ min_value }}{% endif %}
        {%- if max_value is not none %} and {{ column_name }} {{ upper }} {{ max_value }}{% endif %}
    )
{% endtest %}
