with

source as (

    select * from {{ source_or_empty('ml', 'article_sentiment') }}

),

renamed as (

    select
        article_key::text                       as article_key,
        scorer::text                            as scorer,
        scorer_version::text                    as scorer_version,
        label::text                             as sentiment_label,
        score::double precision                 as sentiment_score,
        scored_at::timestamptz                  as scored_at

    from source

)

select * from renamed
