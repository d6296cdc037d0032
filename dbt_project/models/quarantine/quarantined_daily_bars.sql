{#- The bars that fail validation, with the rules they fail: kept aside, never dropped, never
    in curated. A view over int_daily_bars_validated (a partial index holds its rows), so it is
    always exactly the set of bars currently failing; a corrected bar leaves it when its
    correction is validated. -#}
with

validated as (

    select * from {{ ref('int_daily_bars_validated') }}

),

failing as (

    select
        source,
        ticker,
        trade_date,
        duplicate_rank,
        primary_rule,
        failed_rules,
        open,
        high,
        low,
        close,
        volume,
        previous_close,
        request_id,
        load_id,
        loaded_at,
        validated_at
    from validated
    where not is_valid

)

select * from failing
