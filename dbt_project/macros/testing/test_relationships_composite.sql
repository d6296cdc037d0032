{#- Generic test — fails on rows of the model whose combination of `columns` has no row in `to`
    (a multi-column foreign key, e.g. an indicator row without its bar). When the model's rows
    are a test window on a time column among `columns`, `to` is read through the same window:
    a parent of a row in the window is in it too. -#}
{% test relationships_composite(model, to, columns) %}
    {%- set window = tickerhouse.tested_model_window() -%}
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
        {%- if window and window[0] in columns %}
          and parent.{{ window[1] }}
        {%- endif %}
    )
{% endtest %}
