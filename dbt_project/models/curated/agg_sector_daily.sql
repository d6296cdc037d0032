{{
    config(
        materialized='continuous_aggregate',
        indexes=[
            {'columns': ['sector', 'trade_date'], 'unique': true},
            {'columns': ['last_merged_at', 'trade_date']},
        ],
        meta={
            'continuous_aggregate': {
                'bucket_column': 'trade_date', 'bucket_width': '1 day',
                'policy_start_offset': '1 month', 'policy_schedule_interval': '1 hour',
            },
            'test_window': {'time_column': 'trade_date', 'batch_column': 'last_merged_at'},
        },
    )
}}
{#- Daily aggregates per sector (dim_ticker's current sector; 'Unclassified' until a vendor
    has classified the ticker): a TimescaleDB continuous aggregate joining the bars to
    dim_ticker, or a table maintained incrementally on plain PostgreSQL. A day is aggregated
    with the sectors known when it is (re)computed; reclassifying a ticker does not rewrite past
    days. A single query, as continuous aggregates require (no CTEs). -#}
select
    tickers.sector,
    {{ time_bucket('1 day', 'bars.trade_date') }} as trade_date,
    count(*)::integer as ticker_count,
    sum(bars.volume)::bigint as volume,
    sum(bars.close * bars.volume) as dollar_volume,
    avg(bars.close / bars.open - 1) as mean_intraday_return,
    count(*) filter (where bars.close > bars.open)::integer as intraday_up_count,
    count(*) filter (where bars.close < bars.open)::integer as intraday_down_count,
    max(bars.merged_at) as last_merged_at
from {{ ref('fct_daily_bars') }} as bars
join {{ ref('dim_ticker') }} as tickers on tickers.ticker = bars.ticker
where {{ continuous_aggregate_filter('bars.trade_date') }}
group by tickers.sector, {{ time_bucket('1 day', 'bars.trade_date') }}
