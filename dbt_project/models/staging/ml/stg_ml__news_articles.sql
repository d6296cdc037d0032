with

source as (

    select * from {{ source_or_empty('ml', 'news_articles') }}

),

renamed as (

    select
        article_key::text                       as article_key,
        url::text                               as url,
        headline::text                          as headline,
        published_at::timestamptz               as published_at

    from source

)

select * from renamed
