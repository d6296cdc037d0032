{{
    config(
        materialized='incremental',
        unique_key=['ticker', 'session_date'],
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['ticker', 'session_date'], 'unique': true},
            {'columns': ['last_scored_at', 'session_date']},
        ],
        post_hook=["{{ time_index(this, 'session_date') }}"],
        meta={'test_window': {'time_column': 'session_date', 'batch_column': 'last_scored_at'}},
    )
}}
{#- Daily news sentiment per ticker, from the sentiment job's article scores (ml schema).

    A day is the trading session the news can move: an article belongs to the first NYSE
    session that closes after it was published (news after the close or over a weekend counts
    for the next session). Per article the score of var('sentiment_scorer') is used, or, when
    that is null, the latest score any scorer gave it. Incremental: the sessions holding
    articles scored since the newest score here are aggregated again, from all their articles
    (read by publication time). -#}

with

-- not materialized: filtered by key and publication time through their indexes
articles as not materialized (

    select * from {{ ref('stg_ml__news_articles') }}

),

article_tickers as not materialized (

    select * from {{ ref('stg_ml__news_article_tickers') }}

),

scores as not materialized (

    select * from {{ ref('stg_ml__article_sentiment') }}

),

sessions as not materialized (

    select session_date, market_close_at from {{ ref('dim_trading_sessions') }}

),

{% if is_incremental() %}

newly_scored_sessions as (

    select distinct session.session_date
    from scores
    join articles using (article_key)
    cross join lateral (
        select sessions.session_date from sessions
        where sessions.session_date >= (articles.published_at at time zone 'America/New_York')::date
          and sessions.market_close_at > articles.published_at
        order by sessions.session_date
        limit 1
    ) as session
    where scores.scored_at > {{ incremental_watermark('last_scored_at') }}

),

publication_windows as (

    -- an article published in (previous session's close, this session's close] is this session's
    select
        newly_scored_sessions.session_date,
        (select max(earlier.market_close_at) from sessions as earlier
         where earlier.session_date < newly_scored_sessions.session_date) as opens_after,
        sessions.market_close_at as closes_at
    from newly_scored_sessions
    join sessions using (session_date)

),

session_articles as (

    select articles.*, publication_windows.session_date
    from articles
    join publication_windows
        on articles.published_at > coalesce(publication_windows.opens_after, '-infinity')
       and articles.published_at <= publication_windows.closes_at

),

{% else %}

session_articles as (

    select articles.*, session.session_date
    from articles
    cross join lateral (
        select sessions.session_date from sessions
        where sessions.session_date >= (articles.published_at at time zone 'America/New_York')::date
          and sessions.market_close_at > articles.published_at
        order by sessions.session_date
        limit 1
    ) as session

),

{% endif %}

chosen_scores as (

    select distinct on (scores.article_key) scores.*
    from scores
    where scores.article_key in (select article_key from session_articles)
    {%- if var('sentiment_scorer') %}
      and scores.scorer = '{{ var("sentiment_scorer") }}'
    {%- endif %}
    order by scores.article_key, scores.scored_at desc, scores.scorer_version desc

),

ticker_articles as (

    -- one row per article and ticker (several vendor copies may tie the same pair)
    select
        article_tickers.ticker,
        session_articles.article_key,
        session_articles.session_date,
        max(article_tickers.vendor_sentiment_score) as vendor_sentiment_score
    from session_articles
    join article_tickers using (article_key)
    group by article_tickers.ticker, session_articles.article_key, session_articles.session_date

),

scored as (

    select
        ticker_articles.*,
        chosen_scores.sentiment_score,
        chosen_scores.sentiment_label,
        chosen_scores.scorer || '@' || chosen_scores.scorer_version as scorer,
        chosen_scores.scored_at
    from ticker_articles
    join chosen_scores using (article_key)

),

final as (

    select
        ticker,
        session_date,
        count(*)::integer as article_count,
        count(*) filter (where sentiment_label = 'positive')::integer as positive_count,
        count(*) filter (where sentiment_label = 'negative')::integer as negative_count,
        count(*) filter (where sentiment_label = 'neutral')::integer as neutral_count,
        avg(sentiment_score) as mean_sentiment_score,
        -- dispersion of the day's scores (null with a single article)
        stddev_samp(sentiment_score) as stddev_sentiment_score,
        (count(*) filter (where sentiment_label = 'positive'))::double precision / count(*) as positive_share,
        (count(*) filter (where sentiment_label = 'negative'))::double precision / count(*) as negative_share,
        (count(*) filter (where sentiment_label = 'positive')
         - count(*) filter (where sentiment_label = 'negative'))::double precision / count(*) as net_sentiment,
        avg(vendor_sentiment_score) as mean_vendor_sentiment_score,
        min(scorer) as scorer,
        max(scored_at) as last_scored_at
    from scored
    group by ticker, session_date

)

select * from final
