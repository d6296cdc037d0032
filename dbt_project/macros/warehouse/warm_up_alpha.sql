{#- The ewma alpha for the k-th value (k = `position`) of an average that starts from the simple
    mean of its first `length` values: 1/k while k <= length (each step then keeps the running
    mean), `alpha` after. Double precision throughout: `alpha` converts exactly as the fast path's
    constant does. -#}
{% macro warm_up_alpha(position, length, alpha) -%}
    case when {{ position }} <= {{ length }} then 1 / greatest({{ position }}, 1)::double precision
         else ({{ alpha }})::double precision end
{%- endmacro %}
