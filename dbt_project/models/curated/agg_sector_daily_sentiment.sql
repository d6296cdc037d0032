{{
    config(
        materialized='incremental',
        unique_key=['sector', 'session_date'],
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['sector', 'session_date'], 'unique': true},
            {'columns': ['last_scored_at', 'session_date']},
        ],
        post_hook=["{{ time_index(this, 'session_date') }}"],
        meta={'test_window': {'time_column': 'session_date', 'batch_column': 'last_scored_at'}},
    )
}}
{#- Daily news sentiment per sector: agg_ticker_daily_sentiment rolled up by each ticker's
    current sector (dim_ticker), article-weighted. Incremental: the sessions with ticker rows
    scored since the newest score here are rolled up again. -#}

with

-- not materialized: filtered by last_scored_at and by session through its indexes
ticker_days as not materialized (

    select * from {{ ref('agg_ticker_daily_sentiment') }}

),

tickers as (

    select ticker, sector from {{ ref('dim_ticker') }}

),

{% if is_incremental() %}

changed_sessions as (

    select distinct session_date
    from ticker_days
    where last_scored_at > {{ incremental_watermark('last_scored_at') }}

),

to_roll_up as (

    select ticker_days.*
    from ticker_days
    where ticker_days.session_date in (select session_date from changed_sessions)

),

{% else %}

to_roll_up as (

    select * from ticker_days

),

{% endif %}

final as (

    select
        coalesce(tickers.sector, 'Unclassified') as sector,
        to_roll_up.session_date,
        count(*)::integer as ticker_count,
        sum(to_roll_up.article_count)::integer as article_count,
        sum(to_roll_up.positive_count)::integer as positive_count,
        sum(to_roll_up.negative_count)::integer as negative_count,
        sum(to_roll_up.neutral_count)::integer as neutral_count,
        sum(to_roll_up.mean_sentiment_score * to_roll_up.article_count) / sum(to_roll_up.article_count)
            as mean_sentiment_score,
        -- pooled from the tickers' counts, means and deviations: the deviation of all the
        -- sector's article scores that day (null with a single article)
        case when sum(to_roll_up.article_count) > 1 then sqrt(greatest(0, (
            sum(coalesce((to_roll_up.article_count - 1) * to_roll_up.stddev_sentiment_score ^ 2, 0)
                + to_roll_up.article_count * to_roll_up.mean_sentiment_score ^ 2)
            - sum(to_roll_up.mean_sentiment_score * to_roll_up.article_count) ^ 2
              / sum(to_roll_up.article_count))
            / (sum(to_roll_up.article_count) - 1))) end as stddev_sentiment_score,
        sum(to_roll_up.positive_count)::double precision / sum(to_roll_up.article_count) as positive_share,
        sum(to_roll_up.negative_count)::double precision / sum(to_roll_up.article_count) as negative_share,
        (sum(to_roll_up.positive_count) - sum(to_roll_up.negative_count))::double precision
            / sum(to_roll_up.article_count) as net_sentiment,
        max(to_roll_up.last_scored_at) as last_scored_at
    from to_roll_up
    left join tickers using (ticker)
    group by coalesce(tickers.sector, 'Unclassified'), to_roll_up.session_date

)

select * from final
