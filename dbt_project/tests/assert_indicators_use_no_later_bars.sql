{#- No look-ahead: recomputed from fct_daily_bars using only the 252 bars on or before each
    row's date, the newest indicator rows of up to 500 tickers must match what is stored
    (returns, SMAs, 52-week extremes, dollar volume). An indicator that peeked at a later bar (a
    lead() for a lag(), a frame reaching forward) would differ here. -#}
{{ config(tags=['cross_model']) }}

with

-- not materialized: read through its indexes, never copied whole
indicators as not materialized (

    select * from {{ ref('fct_daily_indicators') }}

),

bars as (

    select ticker, trade_date, high, low, close, volume from {{ ref('fct_daily_bars') }}

),

newest as (

    select *
    from indicators
    where trade_date = (
        select max(trade_date) from indicators
        where merged_at = (select max(merged_at) from indicators)
    )
    order by ticker
    limit 500

),

recomputed as (

    select
        newest.ticker,
        newest.trade_date,
        history.close / history.close_1_back - 1 as return_1d,
        history.close / history.close_5_back - 1 as return_5d,
        history.close / history.close_20_back - 1 as return_20d,
        history.mean_20 as sma_20,
        history.mean_200 as sma_200,
        history.high_252 as high_52w,
        history.low_252 as low_52w,
        history.close * history.volume as dollar_volume
    from newest
    cross join lateral (
        select
            (array_agg(earlier.close order by earlier.trade_date desc))[1] as close,
            (array_agg(earlier.volume order by earlier.trade_date desc))[1] as volume,
            (array_agg(earlier.close order by earlier.trade_date desc))[2] as close_1_back,
            (array_agg(earlier.close order by earlier.trade_date desc))[6] as close_5_back,
            (array_agg(earlier.close order by earlier.trade_date desc))[21] as close_20_back,
            case when newest.bars_seen >= 20 then avg(earlier.close) filter (where earlier.recency <= 20) end
                as mean_20,
            case when newest.bars_seen >= 200 then avg(earlier.close) filter (where earlier.recency <= 200) end
                as mean_200,
            case when newest.bars_seen >= 252 then max(earlier.high) end as high_252,
            case when newest.bars_seen >= 252 then min(earlier.low) end as low_252
        from (
            select bars.*, row_number() over (order by bars.trade_date desc) as recency
            from bars
            where bars.ticker = newest.ticker and bars.trade_date <= newest.trade_date
            order by bars.trade_date desc
            limit 252
        ) as earlier
    ) as history

),

mismatches as (

    select
        newest.ticker,
        newest.trade_date,
        column_name,
        stored,
        expected
    from newest
    join recomputed using (ticker, trade_date)
    cross join lateral (
        values
            ('return_1d', newest.return_1d, recomputed.return_1d),
            ('return_5d', newest.return_5d, recomputed.return_5d),
            ('return_20d', newest.return_20d, recomputed.return_20d),
            ('sma_20', newest.sma_20, recomputed.sma_20),
            ('sma_200', newest.sma_200, recomputed.sma_200),
            ('high_52w', newest.high_52w, recomputed.high_52w),
            ('low_52w', newest.low_52w, recomputed.low_52w),
            ('dollar_volume', newest.dollar_volume, recomputed.dollar_volume)
    ) as compared (column_name, stored, expected)
    -- equal, up to the last bits of a differently ordered floating-point mean
    where (stored is null) <> (expected is null)
       or abs(stored - expected) > 1e-9 * greatest(1, abs(expected))

)

select * from mismatches
