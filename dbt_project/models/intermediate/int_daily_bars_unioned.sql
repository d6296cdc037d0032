{{ config(materialized='ephemeral') }}
{#- Every daily bar any feed has landed, one row per raw row, labelled with its feed and that
    feed's precedence. Ephemeral: int_daily_bars_validated filters it by load id and by date,
    and PostgreSQL pushes those filters through the union into each raw table's indexes; as a
    relation of its own, tests of it would have to scan all of raw. -#}
with

precedence as (

    select * from {{ ref('bar_source_precedence') }}

),

polygon_grouped_daily as (

    select * from {{ ref('stg_polygon__grouped_daily') }}

),

polygon_daily_ranges as (

    select * from {{ ref('stg_polygon__daily_ranges') }}

),

alphavantage_daily as (

    select * from {{ ref('stg_alphavantage__daily_bars') }}

),

unioned as (

    select
        'polygon'::text as source, ticker, trade_date, open, high, low, close, volume, vwap,
        trade_count, request_id, load_id, loaded_at
    from polygon_grouped_daily

    union all

    select
        'polygon_ranges'::text as source, ticker, trade_date, open, high, low, close, volume,
        vwap, trade_count, request_id, load_id, loaded_at
    from polygon_daily_ranges

    union all

    select
        'alphavantage'::text as source, ticker, trade_date, open, high, low, close, volume,
        null::double precision as vwap, null::bigint as trade_count, request_id, load_id,
        loaded_at
    from alphavantage_daily

),

final as (

    select
        unioned.source,
        precedence.precedence,
        unioned.ticker,
        unioned.trade_date,
        unioned.open,
        unioned.high,
        unioned.low,
        unioned.close,
        unioned.volume,
        unioned.vwap,
        unioned.trade_count,
        unioned.request_id,
        unioned.load_id,
        unioned.loaded_at
    from unioned
    join precedence using (source)

)

select * from final
