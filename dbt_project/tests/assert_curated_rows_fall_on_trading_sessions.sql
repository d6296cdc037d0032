{#- No curated row on a day the NYSE was closed: every dated curated table's recent rows (the
    test window of each) must fall on a session of dim_trading_sessions. -#}
{{ config(tags=['cross_model']) }}

with

sessions as (

    select session_date from {{ ref('dim_trading_sessions') }}

),

curated_dates as (

    select 'fct_daily_bars' as model, trade_date as day
    from {{ ref('fct_daily_bars') }}
    where {{ recent_rows_condition(ref('fct_daily_bars'), 'trade_date', 'merged_at') }}

    union all

    select 'fct_daily_indicators', trade_date
    from {{ ref('fct_daily_indicators') }}
    where {{ recent_rows_condition(ref('fct_daily_indicators'), 'trade_date', 'merged_at') }}

    union all

    select 'agg_sector_daily', trade_date
    from {{ ref('agg_sector_daily') }}
    where {{ recent_rows_condition(ref('agg_sector_daily'), 'trade_date', 'last_merged_at') }}

    union all

    select 'agg_ticker_daily_sentiment', session_date
    from {{ ref('agg_ticker_daily_sentiment') }}
    where {{ recent_rows_condition(ref('agg_ticker_daily_sentiment'), 'session_date', 'last_scored_at') }}

),

off_session as (

    select model, day, count(*) as rows
    from curated_dates
    where day not in (select session_date from sessions)
    group by model, day

)

select * from off_session
