{#- Generic test — fails on rows of the model whose combination of `columns` has no row in `to`
    (a multi-column foreign key, e.g. an indicator row without its bar). -#}
{% test relationships_composite(model, to, columns) %}
    with child_rows as (

        select * from {{ model }}

    )

    select child.*
    from child_rows as child
    where not exists (
        select 1
        from {{ to }} as parent
        where {% for column in columns -%}
            parent.{{ column }} = child.{{ column }}{{ " and " if not loop.last }}
        {%- endfor %}
    )
{% endtest %}
