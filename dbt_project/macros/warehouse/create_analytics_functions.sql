{#- SQL functions the models use (on-run-start hook), in the target schema (staging).

    ewma(value, alpha, seed): an exponentially weighted moving average as an aggregate, used as a
    window function over a ticker's bars in date order: each row's state is
    alpha * value + (1 - alpha) * previous state, the first value starts it, a null value leaves
    it as it was, and a non-null `seed` replaces it. With alpha = 1/k on the k-th value the
    state is the running mean, so an EMA that starts from the simple mean of its first N values
    is one call: alpha 1/k up to N, then 2/(N+1). An incremental build seeds the state with the
    value stored on the ticker's last row and continues with the same arithmetic as a full
    rebuild; the cost is linear (one step per row), which window frames of closed-form weights
    cannot achieve without overflowing.

    running_sum(value, seed): a running total that a non-null `seed` replaces, so an
    incremental build continues the stored total of a ticker's last row with the same float
    additions, in the same order, as the built-in sum() of a full rebuild.
-#}
{% macro create_analytics_functions() %}
    {%- set schema = adapter.quote(target.schema) -%}
    create schema if not exists {{ schema }};
    create or replace function {{ schema }}.ewma_step(
        state double precision, value double precision, alpha double precision, seed double precision
    ) returns double precision
    language plpgsql immutable parallel safe as $ewma$
    begin
        if seed is not null then
            return seed;
        end if;
        if value is null then
            return state;
        end if;
        if state is null then
            return value;
        end if;
        return alpha * value + (1 - alpha) * state;
    end
    $ewma$;
    create or replace aggregate {{ schema }}.ewma(double precision, double precision, double precision) (
        sfunc = {{ schema }}.ewma_step,
        stype = double precision
    );
    create or replace function {{ schema }}.running_sum_step(
        state double precision, value double precision, seed double precision
    ) returns double precision
    language plpgsql immutable parallel safe as $running_sum$
    begin
        if seed is not null then
            return seed;
        end if;
        if value is null then
            return state;
        end if;
        if state is null then
            return value;
        end if;
        return state + value;
    end
    $running_sum$;
    create or replace aggregate {{ schema }}.running_sum(double precision, double precision) (
        sfunc = {{ schema }}.running_sum_step,
        stype = double precision
    )
{% endmacro %}
