{{
    config(
        materialized='incremental',
        unique_key='ticker',
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[{'columns': ['ticker'], 'unique': true}],
    )
}}
{#- One row per ticker ever traded, with its current attributes; dim_ticker_history (a snapshot)
    keeps how they changed.

    Incremental, but every build rewrites every row: the first/last session and last close come
    from the previous row plus the bars merged since (never a scan of the bar history), the
    descriptive attributes from the latest reference rows of each vendor (Polygon's ticker list
    first, then Finnhub's profile, then Alpha Vantage's overview), and the active flag from the
    newest session. Built as a merge rather than a table so the sector continuous aggregate on
    TimescaleDB, which joins it, never sees it dropped. -#}

with

bars as not materialized (

    -- not materialized: filtered by merged_at through its index
    select ticker, trade_date, close, merged_at from {{ ref('fct_daily_bars') }}

),

sessions as (

    select session_date, session_number from {{ ref('dim_trading_sessions') }}

),

exchanges as (

    select * from {{ ref('exchanges') }}

),

polygon_tickers as (

    select * from {{ ref('stg_polygon__tickers') }}

),

finnhub_profiles as (

    select * from {{ ref('stg_finnhub__profiles') }}

),

alphavantage_overviews as (

    select * from {{ ref('stg_alphavantage__overviews') }}

),

{% if is_incremental() %}

previous as (

    select ticker, first_trade_date, last_trade_date, last_close, bars_merged_at from {{ this }}

),

new_bars as (

    select ticker, trade_date, close, merged_at
    from bars
    where merged_at > {{ incremental_watermark('bars_merged_at') }}

),

bar_history as (

    select ticker, first_trade_date as trade_date, null::double precision as close, bars_merged_at as merged_at
    from previous
    union all
    select ticker, last_trade_date, last_close, bars_merged_at from previous
    union all
    select ticker, trade_date, close, merged_at from new_bars

),

{% else %}

bar_history as (

    select ticker, trade_date, close, merged_at from bars

),

{% endif %}

bar_summary as (

    select
        ticker,
        min(trade_date) as first_trade_date,
        max(trade_date) as last_trade_date,
        (array_agg(close order by trade_date desc, merged_at desc) filter (where close is not null))[1]
            as last_close,
        max(merged_at) as bars_merged_at
    from bar_history
    group by ticker

),

latest_session as (

    select max(sessions.session_number) as session_number
    from sessions
    where sessions.session_date <= (select max(last_trade_date) from bar_summary)

),

latest_polygon as (

    select distinct on (ticker) *
    from polygon_tickers
    order by ticker, fetched_at desc nulls last, load_id desc

),

latest_finnhub as (

    select distinct on (ticker) *
    from finnhub_profiles
    order by ticker, fetched_at desc nulls last, load_id desc

),

latest_alphavantage as (

    select distinct on (ticker) *
    from alphavantage_overviews
    order by ticker, fetched_at desc nulls last, load_id desc

),

described as (

    select
        bar_summary.ticker,
        coalesce(latest_polygon.ticker_name, latest_finnhub.company_name,
                 latest_alphavantage.company_name) as ticker_name,
        coalesce(latest_polygon.exchange_code, finnhub_exchange.exchange_code,
                 alphavantage_exchange.exchange_code) as exchange_code,
        latest_polygon.security_type,
        coalesce(latest_alphavantage.sector, 'Unclassified') as sector,
        coalesce(latest_alphavantage.industry, latest_finnhub.industry) as industry,
        coalesce(latest_finnhub.shares_outstanding, latest_alphavantage.shares_outstanding)
            as shares_outstanding,
        latest_polygon.is_active as listed_as_active,
        latest_polygon.delisted_at,
        bar_summary.first_trade_date,
        bar_summary.last_trade_date,
        bar_summary.last_close,
        bar_summary.bars_merged_at
    from bar_summary
    left join latest_polygon using (ticker)
    left join latest_finnhub using (ticker)
    left join latest_alphavantage using (ticker)
    left join exchanges as finnhub_exchange
        on finnhub_exchange.finnhub_name = latest_finnhub.exchange_name
    left join exchanges as alphavantage_exchange
        on alphavantage_exchange.alphavantage_name = latest_alphavantage.exchange_name

),

final as (

    select
        described.ticker,
        described.ticker_name,
        described.exchange_code,
        exchanges.exchange_name,
        described.security_type,
        described.sector,
        described.industry,
        described.shares_outstanding,
        described.shares_outstanding * described.last_close as market_cap,
        described.first_trade_date,
        described.last_trade_date,
        described.last_close,
        -- active: traded within the last few sessions, unless Polygon lists it as delisted
        coalesce(described.listed_as_active, true)
            and last_session.session_number
                > (select session_number from latest_session) - {{ var('active_within_sessions') }}
            as is_active,
        described.bars_merged_at
    from described
    left join exchanges using (exchange_code)
    left join sessions as last_session on last_session.session_date = described.last_trade_date

)

select * from final
