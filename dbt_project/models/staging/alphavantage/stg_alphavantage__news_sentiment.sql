with

source as (

    select * from {{ source_or_empty('alphavantage', 'alphavantage_news_sentiment') }}

),

renamed as (

    select
        url::text                                                       as url,
        title::text                                                     as headline,
        summary::text                                                   as summary,
        source::text                                                    as publisher,
        source_domain::text                                             as publisher_domain,
        category_within_source::text                                    as category,
        -- Alpha Vantage publishes New York wall time without a zone
        (to_timestamp(time_published, 'YYYYMMDD"T"HH24MISS')::timestamp
            at time zone 'America/New_York')                            as published_at,
        overall_sentiment_score::double precision                       as sentiment_score,
        overall_sentiment_label::text                                   as sentiment_label,
        ticker_sentiment::jsonb                                         as ticker_sentiment,
        topics::jsonb                                                   as topics,
        _symbol::text                                                   as queried_ticker,
        _request_id::text                                               as request_id,
        _fetched_at::timestamptz                                        as fetched_at,
        _dlt_load_id::text                                              as load_id,
        to_timestamp(_dlt_load_id::double precision)                    as loaded_at

    from source

)

select * from renamed
