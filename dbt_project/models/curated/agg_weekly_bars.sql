{{
    config(
        materialized='continuous_aggregate',
        indexes=[
            {'columns': ['ticker', 'week_start'], 'unique': true},
            {'columns': ['last_merged_at', 'week_start']},
        ],
        meta={
            'continuous_aggregate': {
                'bucket_column': 'week_start', 'bucket_width': '1 week',
                'policy_start_offset': '1 month', 'policy_schedule_interval': '1 hour',
            },
            'test_window': {'time_column': 'week_start', 'batch_column': 'last_merged_at'},
        },
    )
}}
{#- Weekly bars (Monday-start weeks) per ticker: a TimescaleDB continuous aggregate, or a table
    maintained incrementally on plain PostgreSQL (materialization continuous_aggregate). A
    single query, as continuous aggregates require (no CTEs). -#}
select
    ticker,
    {{ time_bucket('1 week', 'trade_date') }} as week_start,
    {{ first_by('open', 'trade_date') }} as open,
    max(high) as high,
    min(low) as low,
    {{ last_by('close', 'trade_date') }} as close,
    sum(volume)::bigint as volume,
    count(*)::integer as session_count,
    min(trade_date) as first_trade_date,
    max(trade_date) as last_trade_date,
    max(merged_at) as last_merged_at
from {{ ref('fct_daily_bars') }}
where {{ continuous_aggregate_filter('trade_date') }}
group by ticker, {{ time_bucket('1 week', 'trade_date') }}
