-- depends_on: {{ ref('fct_daily_bars') }}
{{
    config(
        materialized='incremental',
        unique_key=['ticker', 'trade_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[
            {'columns': ['ticker', 'trade_date'], 'unique': true},
            {'columns': ['trade_date']},
            {'columns': ['merged_at', 'trade_date']},
        ],
        meta={'test_window': {'time_column': 'trade_date', 'batch_column': 'merged_at'}},
        post_hook=["{{ analyze_if_grown() }}"],
    )
}}
{#- The ML feature table: one row per ticker and session, every value known by that session's
    close (point in time). Targets (forward returns) are never here: ml/ computes them.

    - price features come from fct_daily_indicators (its rows use their own bar and earlier
      ones only); lags are the ticker's earlier bars, found by bar number;
    - sector-relative measures compare with the same session's sector mean (sector from
      dim_ticker: the current classification, which changes rarely and never with prices);
    - fundamentals: the newest observation of either vendor whose validity
      [known_at, known_until) holds the session's close, so a later fetch never changes it;
    - news sentiment: agg_ticker_daily_sentiment assigns an article to the first session that
      closes after it was published, so session d holds only news out by d's close.
    `feature_version` changes whenever a definition changes (see _features__models.yml).

    Incremental: every session from the first one with a bar merged since the last build
    (the daily case: the new session only, whatever the length of history; a late correction:
    the sessions from it on, whose indicators it changed). Whole sessions, so sector means see
    every ticker. News or fundamentals that arrive after a session was built do not rewrite it:
    its row stays what was known when it was built. -#}

{%- set feature_version = 'v1' -%}

with

indicators as (

    select * from {{ ref('fct_daily_indicators') }}
    {%- if is_incremental() %}
    where trade_date >= {{ incremental_first_changed_date(ref('fct_daily_bars')) }}
    {%- endif %}

),

tickers as (

    select ticker, sector from {{ ref('dim_ticker') }}

),

sessions as (

    select session_date, session_number, market_close_at from {{ ref('dim_trading_sessions') }}

),

fundamentals as (

    select * from {{ ref('fct_fundamentals') }}

),

sentiment as (

    select ticker, session_date, article_count, mean_sentiment_score
    from {{ ref('agg_ticker_daily_sentiment') }}

),

price_features as (

    select
        indicators.ticker,
        indicators.trade_date,
        sessions.session_number,
        sessions.market_close_at,
        coalesce(tickers.sector, 'Unclassified') as sector,
        indicators.close,
        indicators.return_1d,
        indicators.return_5d,
        indicators.return_20d,
        {%- for column, bars_back in [('return_1d', 1), ('return_1d', 2), ('return_5d', 5)] %}
        -- the relation itself, not a CTE, so that each lookup is an index probe
        (select earlier.{{ column }} from {{ ref('fct_daily_indicators') }} as earlier
         where earlier.ticker = indicators.ticker
           and earlier.bars_seen = indicators.bars_seen - {{ bars_back }}) as {{ column }}_lag{{ bars_back }},
        {%- endfor %}
        indicators.realized_volatility_20d,
        indicators.rsi_14,
        indicators.macd_histogram / nullif(indicators.close, 0) as macd_histogram_pct,
        (indicators.close - indicators.bollinger_lower_20)
            / nullif(indicators.bollinger_upper_20 - indicators.bollinger_lower_20, 0)
            as bollinger_position,
        indicators.distance_from_52w_high,
        ln(nullif(indicators.avg_dollar_volume_20d, 0)) as log_dollar_volume_20d,
        indicators.dollar_volume / nullif(indicators.avg_dollar_volume_20d, 0) as dollar_volume_ratio,
        indicators.merged_at
    from indicators
    join sessions on sessions.session_date = indicators.trade_date
    left join tickers using (ticker)

),

sector_relative as (

    select
        *,
        avg(return_5d) over sector_day as sector_mean_return_5d,
        return_5d - avg(return_5d) over sector_day as sector_relative_return_5d,
        return_20d - avg(return_20d) over sector_day as sector_relative_return_20d
    from price_features
    window sector_day as (partition by sector, trade_date)

),

known_fundamentals as (

    -- the newest observation valid at the session's close, whichever vendor made it
    select distinct on (price_features.ticker, price_features.trade_date)
        price_features.ticker,
        price_features.trade_date,
        fundamentals.pe_ratio,
        fundamentals.price_to_book,
        fundamentals.dividend_yield,
        fundamentals.market_cap
    from price_features
    join fundamentals
        on fundamentals.ticker = price_features.ticker
       and fundamentals.known_at <= price_features.market_close_at
       and coalesce(fundamentals.known_until, 'infinity') > price_features.market_close_at
    order by price_features.ticker, price_features.trade_date, fundamentals.known_at desc,
             fundamentals.source

),

news as (

    -- the session's news and the five sessions' (article-weighted)
    select
        price_features.ticker,
        price_features.trade_date,
        sum(sentiment.article_count) filter (where sentiment.session_date = price_features.trade_date)
            as article_count_1d,
        avg(sentiment.mean_sentiment_score) filter (where sentiment.session_date = price_features.trade_date)
            as sentiment_score_1d,
        sum(sentiment.article_count) as article_count_5d,
        sum(sentiment.mean_sentiment_score * sentiment.article_count)
            / nullif(sum(sentiment.article_count), 0) as sentiment_score_5d
    from price_features
    join sessions as window_sessions
        on window_sessions.session_number between price_features.session_number - 4
                                              and price_features.session_number
    join sentiment
        on sentiment.ticker = price_features.ticker
       and sentiment.session_date = window_sessions.session_date
    group by price_features.ticker, price_features.trade_date

),

final as (

    select
        sector_relative.ticker,
        sector_relative.trade_date,
        '{{ feature_version }}'::text as feature_version,
        sector_relative.sector,
        sector_relative.close,
        sector_relative.return_1d,
        sector_relative.return_5d,
        sector_relative.return_20d,
        sector_relative.return_1d_lag1,
        sector_relative.return_1d_lag2,
        sector_relative.return_5d_lag5,
        sector_relative.realized_volatility_20d,
        sector_relative.rsi_14,
        sector_relative.macd_histogram_pct,
        sector_relative.bollinger_position,
        sector_relative.distance_from_52w_high,
        sector_relative.log_dollar_volume_20d,
        sector_relative.dollar_volume_ratio,
        sector_relative.sector_mean_return_5d,
        sector_relative.sector_relative_return_5d,
        sector_relative.sector_relative_return_20d,
        known_fundamentals.pe_ratio,
        known_fundamentals.price_to_book,
        known_fundamentals.dividend_yield,
        ln(nullif(known_fundamentals.market_cap, 0)) as log_market_cap,
        coalesce(news.article_count_1d, 0)::integer as article_count_1d,
        news.sentiment_score_1d,
        coalesce(news.article_count_5d, 0)::integer as article_count_5d,
        news.sentiment_score_5d,
        sector_relative.merged_at
    from sector_relative
    left join known_fundamentals using (ticker, trade_date)
    left join news using (ticker, trade_date)

)

select * from final
