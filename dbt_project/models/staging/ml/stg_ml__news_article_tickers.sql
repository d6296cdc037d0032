with

source as (

    select * from {{ source_or_empty('ml', 'news_article_tickers') }}

),

renamed as (

    select
        article_key::text                       as article_key,
        ticker::text                            as ticker,
        source::text                            as source,
        method::text                            as match_method,
        relevance::double precision             as relevance,
        vendor_sentiment_score::double precision as vendor_sentiment_score

    from source

)

select * from renamed
