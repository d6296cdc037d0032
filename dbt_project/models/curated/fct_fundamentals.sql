{{
    config(
        materialized='incremental',
        unique_key=['ticker', 'source', 'known_at'],
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[
            {'columns': ['ticker', 'source', 'known_at'], 'unique': true},
            {'columns': ['known_at']},
        ],
    )
}}
{#- Fundamental ratios per ticker, point in time: one row per vendor observation (Alpha Vantage's
    overview, Finnhub's basic financials), valid from `known_at` (when it was fetched) until the
    next observation of the same vendor (`known_until`, null for the current one). A backtest
    joins on `known_at <= as_of < coalesce(known_until, 'infinity')` and sees only what was
    known then.

    Raw keeps only each ticker's latest payload (dlt merges on the symbol), so this table is
    where the history accumulates: each build appends the observations fetched since the newest
    one here and closes the validity of the rows they supersede. -#}

with

overviews as (

    select * from {{ ref('stg_alphavantage__overviews') }}

),

metrics as (

    select * from {{ ref('stg_finnhub__metrics') }}

),

observations as (

    select
        ticker,
        'alphavantage_overview'::text as source,
        fetched_at as known_at,
        pe_ratio,
        price_to_book,
        dividend_yield,
        market_cap,
        eps_ttm,
        book_value_per_share,
        shares_outstanding,
        latest_quarter,
        load_id
    from overviews
    where fetched_at is not null

    union all

    select
        ticker,
        'finnhub_metrics'::text as source,
        fetched_at as known_at,
        pe_ratio_ttm as pe_ratio,
        price_to_book,
        dividend_yield,
        market_cap,
        eps_ttm,
        book_value_per_share,
        null::double precision as shares_outstanding,
        null::date as latest_quarter,
        load_id
    from metrics
    where fetched_at is not null

),

{% if is_incremental() %}

new_observations as (

    select * from observations
    where known_at > {{ incremental_watermark('known_at') }}

),

superseded as (

    -- the current rows of the tickers and vendors with a newer observation, to close them
    select
        current_row.ticker, current_row.source, current_row.known_at, current_row.pe_ratio,
        current_row.price_to_book, current_row.dividend_yield, current_row.market_cap,
        current_row.eps_ttm, current_row.book_value_per_share, current_row.shares_outstanding,
        current_row.latest_quarter, current_row.load_id
    from {{ this }} as current_row
    join (select distinct ticker, source from new_observations) as renewed using (ticker, source)
    where current_row.known_until is null

),

timeline as (

    select * from new_observations
    union all
    select * from superseded

),

{% else %}

timeline as (

    select * from observations

),

{% endif %}

final as (

    select
        ticker,
        source,
        known_at,
        lead(known_at) over (partition by ticker, source order by known_at) as known_until,
        lead(known_at) over (partition by ticker, source order by known_at) is null as is_current,
        pe_ratio,
        price_to_book,
        dividend_yield,
        market_cap,
        eps_ttm,
        book_value_per_share,
        shares_outstanding,
        latest_quarter,
        load_id
    from timeline

)

select * from final
